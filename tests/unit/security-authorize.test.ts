import { describe, expect, it } from 'vitest';
import {
  Action,
  authorize,
  DEFAULT_POLICY,
  type Policy,
  PolicyError,
  type Principal,
  parsePolicy,
} from '../../security/index.js';

const web: Principal = {
  kind: 'framework',
  name: 'web',
  frameworkIds: ['fw-web'],
  roles: ['web', 'web/canary'],
};
const batch: Principal = { kind: 'framework', name: 'batch', frameworkIds: ['fw-batch'], roles: ['batch'] };
const ops: Principal = { kind: 'operator', name: 'ops', readonly: false, superuser: false };
const viewer: Principal = { kind: 'operator', name: 'viewer', readonly: true, superuser: false };
const admin: Principal = { kind: 'operator', name: 'admin', readonly: false, superuser: true };
const agent: Principal = { kind: 'agent', name: 'agent-0', agentId: 'a-1' };

describe('authorize with the default policy', () => {
  const table: [Principal, Action, string, boolean][] = [
    // roles: only those the credentials name
    [web, Action.REGISTER_FRAMEWORK, 'web', true],
    [web, Action.REGISTER_FRAMEWORK, 'web/canary', true],
    [web, Action.REGISTER_FRAMEWORK, 'batch', false],
    [web, Action.REGISTER_FRAMEWORK, '*', false],
    [ops, Action.REGISTER_FRAMEWORK, 'web', false],
    [admin, Action.REGISTER_FRAMEWORK, 'anything', true],
    // tasks run as the agent's user ("") and nobody else
    [web, Action.RUN_TASK, '', true],
    [web, Action.RUN_TASK, 'root', false],
    [admin, Action.RUN_TASK, 'root', true],
    // a framework acts on itself only
    [web, Action.TEARDOWN_FRAMEWORK, 'web', true],
    [web, Action.TEARDOWN_FRAMEWORK, 'batch', false],
    [web, Action.VIEW_FRAMEWORK, 'batch', false],
    [web, Action.RESERVE_RESOURCES, 'web', true],
    [web, Action.RESERVE_RESOURCES, 'batch', false],
    // read-write operators may write; read-only ones only view
    [ops, Action.TEARDOWN_FRAMEWORK, 'web', true],
    [ops, Action.KILL_TASK, 'batch', true],
    [ops, Action.UPDATE_QUOTA, 'web', true],
    [ops, Action.UPDATE_WEIGHT, 'web', true],
    [ops, Action.MARK_AGENT_GONE, 'a-1', true],
    [ops, Action.RESERVE_RESOURCES, 'web', true],
    [viewer, Action.VIEW_FRAMEWORK, 'web', true],
    [viewer, Action.TEARDOWN_FRAMEWORK, 'web', false],
    [viewer, Action.KILL_TASK, 'web', false],
    [viewer, Action.UPDATE_QUOTA, 'web', false],
    [viewer, Action.UPDATE_WEIGHT, 'web', false],
    [viewer, Action.MARK_AGENT_GONE, 'a-1', false],
    [viewer, Action.RESERVE_RESOURCES, 'web', false],
    // agents are not operators
    [agent, Action.MARK_AGENT_GONE, 'a-2', false],
    [agent, Action.REGISTER_FRAMEWORK, '*', false],
  ];
  it.each(table)('%o %s %j -> %s', (principal, action, object, allowed) => {
    expect(authorize(DEFAULT_POLICY, principal, action, object).allowed).toBe(allowed);
  });

  it('says why a framework may not register in a role, naming the roles it may use', () => {
    const d = authorize(DEFAULT_POLICY, web, Action.REGISTER_FRAMEWORK, 'batch');
    expect(d).toEqual({ allowed: false, reason: expect.stringContaining('only roles web, web/canary') });
  });

  it('says why a task may not run as another user', () => {
    const d = authorize(DEFAULT_POLICY, batch, Action.RUN_TASK, 'root');
    expect(d.allowed).toBe(false);
    expect(!d.allowed && d.reason).toMatch(/batch may not RUN_TASK on "root": tasks run as the agent's user/);
  });
});

describe('authorize with policy rules', () => {
  const policy: Policy = parsePolicy(
    JSON.stringify({
      rules: {
        RUN_TASK: [
          { principals: ['batch'], objects: ['nobody'], allow: true },
          { principals: 'ANY', objects: ['root'], allow: false },
        ],
        REGISTER_FRAMEWORK: [{ principals: ['web'], objects: ['shared'], allow: true }],
        VIEW_FRAMEWORK: [{ principals: ['viewer'], objects: ['batch'], allow: false }],
        UPDATE_QUOTA: [{ principals: ['ops'], objects: 'ANY', allow: false }],
      },
    }),
  );
  const table: [Principal, Action, string, boolean][] = [
    [batch, Action.RUN_TASK, 'nobody', true], // a rule allows what the default denies
    [web, Action.RUN_TASK, 'nobody', false], // no rule for web: the default denies
    [admin, Action.RUN_TASK, 'root', false], // the first matching rule wins, even for a superuser
    [web, Action.REGISTER_FRAMEWORK, 'shared', true],
    [web, Action.REGISTER_FRAMEWORK, 'web', true], // the default still applies where no rule matches
    [viewer, Action.VIEW_FRAMEWORK, 'batch', false],
    [viewer, Action.VIEW_FRAMEWORK, 'web', true],
    [ops, Action.UPDATE_QUOTA, 'web', false],
  ];
  it.each(table)('%o %s %j -> %s', (principal, action, object, allowed) => {
    expect(authorize(policy, principal, action, object).allowed).toBe(allowed);
  });

  it('names the rule that denied', () => {
    const d = authorize(policy, ops, Action.UPDATE_QUOTA, 'web');
    expect(!d.allowed && d.reason).toBe('policy denies ops UPDATE_QUOTA on "web"');
  });
});

describe('parsePolicy', () => {
  it('refuses a misspelt action rather than ignoring it', () => {
    expect(() => parsePolicy('{"rules":{"RUN_TASKS":[]}}', 'p.json')).toThrow(PolicyError);
    expect(() => parsePolicy('{"rules":{"RUN_TASKS":[]}}', 'p.json')).toThrow(
      /p.json is invalid: rules: .*RUN_TASKS/,
    );
  });
  it('refuses a rule without allow, naming its path', () => {
    expect(() => parsePolicy('{"rules":{"RUN_TASK":[{"principals":"ANY","objects":"ANY"}]}}')).toThrow(
      /rules\.RUN_TASK\.0\.allow/,
    );
  });
  it('refuses text that is not JSON', () => {
    expect(() => parsePolicy('rules: {}', 'p.yaml')).toThrow(/p.yaml is not valid JSON/);
  });
  it('accepts an empty rule set', () => {
    expect(parsePolicy('{"rules":{}}')).toEqual(DEFAULT_POLICY);
  });
});
