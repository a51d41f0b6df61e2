import { describe, expect, it } from 'vitest';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { defaultMasterConfig } from '../../actors/master/config.js';
import {
  applyRegistryOp,
  emptyRegistry,
  fromSnapshot,
  parseRegistryOp,
  type Registry,
  type RegistryOp,
  RegistryOpError,
  toSnapshot,
} from '../../actors/master/registry.js';
import { applyAll, heldByPendingWrite, registryDiff } from '../../actors/master/registry-diff.js';
import { restoreFromRegistry } from '../../actors/master/registry-restore.js';
import { handleSchedulerCall } from '../../actors/master/scheduler-calls.js';
import { createMasterState } from '../../actors/master/state.js';
import { tick } from '../../actors/master/tick.js';
import { AgentInfo, FrameworkInfo, resources as R } from '../../protocol/index.js';

const agent = (id: string, res = 'cpus:4;mem:1024') =>
  AgentInfo.parse({ id, hostname: `h-${id}`, resources: R.parseResources(res), version: '0.1.0' });
const fw = (id: string, failoverTimeoutSeconds = 60) =>
  FrameworkInfo.parse({ id, name: id, roles: ['eng'], failoverTimeoutSeconds });
const reserved = R.parseResources('cpus:3;cpus(eng):1;mem:1024');

/** A registry holding agents a1 (active), a2 (unreachable since 500), a3 (gone), framework f1, weights and quota. */
function base(): Registry {
  return applyAll(emptyRegistry(), [
    { type: 'AGENT_ADMITTED', agent: agent('a1'), total: agent('a1').resources },
    { type: 'AGENT_ADMITTED', agent: agent('a2'), total: agent('a2').resources },
    { type: 'AGENT_UNREACHABLE', agentId: 'a2', since: 500 },
    { type: 'AGENT_ADMITTED', agent: agent('a3'), total: agent('a3').resources },
    { type: 'AGENT_GONE', agentId: 'a3' },
    { type: 'FRAMEWORK_ADDED', framework: fw('f1') },
    { type: 'WEIGHTS_SET', weights: { eng: 3 } },
    { type: 'QUOTA_SET', role: 'eng', quota: { guarantee: R.parseResources('cpus:1'), limit: [] } },
  ]);
}

type Case = [string, RegistryOp, (before: Registry, after: Registry) => void];

const cases: Case[] = [
  [
    'AGENT_ADMITTED adds a new agent as active with its total',
    { type: 'AGENT_ADMITTED', agent: agent('a9'), total: reserved },
    (_b, a) => expect(a.agents.get('a9')).toEqual({ info: agent('a9'), total: reserved, status: 'ACTIVE' }),
  ],
  [
    'AGENT_ADMITTED brings an unreachable agent back to active and drops its unreachable time',
    { type: 'AGENT_ADMITTED', agent: agent('a2'), total: agent('a2').resources },
    (_b, a) =>
      expect(a.agents.get('a2')).toEqual({
        info: agent('a2'),
        total: agent('a2').resources,
        status: 'ACTIVE',
      }),
  ],
  [
    'AGENT_ADMITTED never readmits a gone agent',
    { type: 'AGENT_ADMITTED', agent: agent('a3'), total: agent('a3').resources },
    (b, a) => expect(a).toBe(b),
  ],
  [
    'AGENT_RESOURCES records a dynamic reservation',
    { type: 'AGENT_RESOURCES', agentId: 'a1', total: reserved },
    (_b, a) => expect(a.agents.get('a1')?.total).toEqual(reserved),
  ],
  [
    'AGENT_RESOURCES of an agent not held changes nothing',
    { type: 'AGENT_RESOURCES', agentId: 'zz', total: reserved },
    (b, a) => expect(a).toBe(b),
  ],
  [
    'AGENT_UNREACHABLE marks an active agent with the time',
    { type: 'AGENT_UNREACHABLE', agentId: 'a1', since: 900 },
    (_b, a) => expect(a.agents.get('a1')).toMatchObject({ status: 'UNREACHABLE', unreachableSince: 900 }),
  ],
  [
    'AGENT_UNREACHABLE leaves a gone agent gone',
    { type: 'AGENT_UNREACHABLE', agentId: 'a3', since: 900 },
    (b, a) => expect(a).toBe(b),
  ],
  [
    'AGENT_GONE is final and forgets the unreachable time',
    { type: 'AGENT_GONE', agentId: 'a2' },
    (_b, a) => {
      expect(a.agents.get('a2')?.status).toBe('GONE');
      expect(a.agents.get('a2')?.unreachableSince).toBeUndefined();
    },
  ],
  [
    'AGENT_REMOVED forgets an agent that left, and its maintenance mode',
    { type: 'AGENT_REMOVED', agentId: 'a1' },
    (_b, a) => {
      expect(a.agents.has('a1')).toBe(false);
      expect(a.maintenance.has('a1')).toBe(false);
    },
  ],
  [
    'AGENT_REMOVED keeps a gone agent gone (its id may never return)',
    { type: 'AGENT_REMOVED', agentId: 'a3' },
    (b, a) => expect(a).toBe(b),
  ],
  [
    'FRAMEWORK_ADDED adds or replaces a framework with its failover timeout',
    { type: 'FRAMEWORK_ADDED', framework: fw('f1', 3600) },
    (_b, a) => expect(a.frameworks.get('f1')?.failoverTimeoutSeconds).toBe(3600),
  ],
  [
    'FRAMEWORK_REMOVED forgets a framework',
    { type: 'FRAMEWORK_REMOVED', frameworkId: 'f1' },
    (_b, a) => expect(a.frameworks.size).toBe(0),
  ],
  [
    'FRAMEWORK_REMOVED of an unknown framework changes nothing',
    { type: 'FRAMEWORK_REMOVED', frameworkId: 'nope' },
    (b, a) => expect(a).toBe(b),
  ],
  [
    'WEIGHTS_SET replaces the whole table',
    { type: 'WEIGHTS_SET', weights: { ads: 2 } },
    (_b, a) => expect(a.weights).toEqual({ ads: 2 }),
  ],
  [
    'QUOTA_SET sets a role quota',
    { type: 'QUOTA_SET', role: 'ads', quota: { guarantee: [], limit: R.parseResources('cpus:8') } },
    (_b, a) => expect(Object.keys(a.quotas).sort()).toEqual(['ads', 'eng']),
  ],
  [
    'QUOTA_SET with null removes a role quota',
    { type: 'QUOTA_SET', role: 'eng', quota: null },
    (_b, a) => expect(a.quotas).toEqual({}),
  ],
  [
    'MAINTENANCE_SET puts an agent into draining',
    { type: 'MAINTENANCE_SET', agentId: 'a1', mode: 'DRAINING' },
    (_b, a) => expect(a.maintenance.get('a1')).toBe('DRAINING'),
  ],
  [
    'MAINTENANCE_SET of an agent not admitted changes nothing',
    { type: 'MAINTENANCE_SET', agentId: 'zz', mode: 'DOWN' },
    (b, a) => expect(a).toBe(b),
  ],
];

describe('applyRegistryOp', () => {
  it.each(cases)('%s', (_name, op, check) => {
    const before = base();
    const snapshot = JSON.stringify(toSnapshot(before));
    const after = applyRegistryOp(before, parseRegistryOp(op) as RegistryOp);
    check(before, after);
    // Pure: the registry it was given is untouched.
    expect(JSON.stringify(toSnapshot(before))).toBe(snapshot);
  });

  it('covers every op type in the table above', () => {
    const tested = new Set(cases.map(([, op]) => op.type));
    const declared = new Set(
      ['AGENT_ADMITTED', 'AGENT_RESOURCES', 'AGENT_UNREACHABLE', 'AGENT_GONE', 'AGENT_REMOVED'].concat(
        'FRAMEWORK_ADDED',
        'FRAMEWORK_REMOVED',
        'WEIGHTS_SET',
        'QUOTA_SET',
        'MAINTENANCE_SET',
      ),
    );
    expect(tested).toEqual(declared);
  });

  it('skips an op of a type from a newer version, reports it, and keeps going', () => {
    const seen: string[] = [];
    const op = parseRegistryOp({ type: 'AGENT_TELEPORTED', agentId: 'a1', to: 'mars' });
    expect(op).toEqual({ type: 'AGENT_TELEPORTED' });
    const before = base();
    const after = applyRegistryOp(before, op, (t) => seen.push(t));
    expect(after).toBe(before);
    expect(seen).toEqual(['AGENT_TELEPORTED']);
    const next = applyAll(after, [{ type: 'FRAMEWORK_REMOVED', frameworkId: 'f1' }]);
    expect(next.frameworks.size).toBe(0);
  });

  it('refuses a malformed op of a known type with a clear error', () => {
    expect(() => parseRegistryOp({ type: 'AGENT_UNREACHABLE', agentId: 'a1', since: -4 })).toThrow(
      RegistryOpError,
    );
    expect(() => parseRegistryOp(null)).toThrow(RegistryOpError);
  });

  it('round-trips through a snapshot', () => {
    const reg = applyRegistryOp(base(), { type: 'MAINTENANCE_SET', agentId: 'a1', mode: 'DOWN' });
    expect(toSnapshot(fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(reg)))))).toEqual(toSnapshot(reg));
  });
});

describe('registry diff and restore', () => {
  const config = defaultMasterConfig({ masterId: 'm1' });

  it('derives the ops of an agent registering, a framework subscribing and a weight change', () => {
    const state = createMasterState(config, 1000, { agentOrder: 'added' });
    handleAgentMessage(
      state,
      'a1',
      { type: 'REGISTER', agent: agent('a1'), tasks: [], frameworks: [] },
      1000,
    );
    handleSchedulerCall(state, 'f1', { type: 'SUBSCRIBE', framework: fw('f1') }, 1000);
    state.allocator.updateWeights({ eng: 2 });
    const ops = registryDiff(
      emptyRegistry(),
      state,
      { agents: ['a1'], frameworks: ['f1'], roles: true },
      1000,
    );
    expect(ops.map((o) => o.type)).toEqual(['AGENT_ADMITTED', 'FRAMEWORK_ADDED', 'WEIGHTS_SET']);
    const reg = applyAll(emptyRegistry(), ops);
    // Once applied, nothing is left to write.
    expect(registryDiff(reg, state, { agents: 'all', frameworks: 'all', roles: true }, 1000)).toEqual([]);
  });

  it('says when a change needing no write of its own is held only by a write still pending', () => {
    const state = createMasterState(config, 1000, { agentOrder: 'added' });
    state.allocator.updateWeights({ eng: 2 });
    const roles = { roles: true } as const;
    const agents = { agents: ['a1'] };
    const durable = emptyRegistry();
    // The weight change is sent (`sent` holds it) but not yet acknowledged (`durable` lacks it).
    const sent = applyAll(durable, registryDiff(durable, state, roles, 1000));
    const cases: [string, Registry, Registry, typeof roles | typeof agents, boolean][] = [
      ['the same change asked for again while its write is pending', durable, sent, roles, true],
      ['the same change once its write is acknowledged', sent, sent, roles, false],
      ['a change elsewhere while that write is pending', durable, sent, agents, false],
    ];
    for (const [what, d, s, scope, want] of cases) {
      expect(registryDiff(s, state, scope, 1000), what).toEqual([]);
      expect(heldByPendingWrite(d, s, state, scope, 1000), what).toBe(want);
    }
  });

  it('looks only where the scope says', () => {
    const state = createMasterState(config, 1000, { agentOrder: 'added' });
    handleAgentMessage(
      state,
      'a1',
      { type: 'REGISTER', agent: agent('a1'), tasks: [], frameworks: [] },
      1000,
    );
    expect(registryDiff(emptyRegistry(), state, { frameworks: 'all', roles: true }, 1000)).toEqual([]);
  });

  it('restores agents as recovering, unreachable or gone, frameworks as disconnected, and weights', () => {
    const state = createMasterState(config, 2000, { agentOrder: 'added' });
    const report = restoreFromRegistry(state, base(), 2000, 12_000);
    expect(report).toMatchObject({ recovering: 1, unreachable: 1, gone: 1, frameworks: 1, refused: [] });
    expect([...(state.recovering ?? [])]).toEqual(['a1']);
    expect(state.agents.get('a1')?.status).toBe('UNREACHABLE');
    expect(state.agents.get('a3')).toMatchObject({ status: 'REMOVED', gone: true });
    expect(state.frameworks.get('f1')).toMatchObject({ status: 'DISCONNECTED', disconnectedAt: 12_000 });
    expect(state.allocator.weights()).toMatchObject({ eng: 3 });
    // The restored state says nothing new about the registry: a new leader writes nothing on taking over.
    expect(registryDiff(base(), state, { agents: 'all', frameworks: 'all', roles: true }, 2000)).toEqual([]);
  });

  it('removes no framework because of the failover: the failover timeout runs from the end of the window', () => {
    const state = createMasterState(config, 2000, { agentOrder: 'added' });
    const reg = applyRegistryOp(base(), { type: 'FRAMEWORK_ADDED', framework: fw('f0', 0) });
    restoreFromRegistry(state, reg, 2000, 12_000);
    // failoverTimeoutSeconds 0, yet still there during the re-registration window...
    tick(state, 11_999);
    expect(state.frameworks.get('f0')?.status).toBe('DISCONNECTED');
    // ...and removed once the window is over without it resubscribing.
    tick(state, 12_000);
    expect(state.frameworks.get('f0')?.status).toBe('REMOVED');
  });

  it('gives no reconciliation answer for a task on an agent that has not re-registered yet', () => {
    const state = createMasterState(config, 2000, { agentOrder: 'added' });
    restoreFromRegistry(state, base(), 2000, 12_000);
    const answer = handleSchedulerCall(state, 'f1', { type: 'SUBSCRIBE', framework: fw('f1') }, 2000);
    expect(answer.result).toMatchObject({ frameworkId: 'f1' });
    const r = handleSchedulerCall(
      state,
      'f1',
      { type: 'RECONCILE', tasks: [{ taskId: 't1', agentId: 'a1' }] },
      2001,
    );
    expect(r.effects.filter((e) => e.kind === 'framework' && e.event.type === 'UPDATE')).toEqual([]);
    // The unreachable one (known unreachable before the failover) is answered.
    const u = handleSchedulerCall(
      state,
      'f1',
      { type: 'RECONCILE', tasks: [{ taskId: 't2', agentId: 'a2' }] },
      2002,
    );
    expect(u.effects).toContainEqual(
      expect.objectContaining({ kind: 'framework', event: expect.objectContaining({ type: 'UPDATE' }) }),
    );
    // Once a1 re-registers, the same question gets its answer.
    handleAgentMessage(
      state,
      'a1',
      { type: 'REGISTER', agent: agent('a1'), tasks: [], frameworks: [] },
      2003,
    );
    state.recovering?.delete('a1');
    const g = handleSchedulerCall(
      state,
      'f1',
      { type: 'RECONCILE', tasks: [{ taskId: 't1', agentId: 'a1' }] },
      2004,
    );
    // TASK_GONE, seen as TASK_LOST by a framework that is not partition aware.
    expect(JSON.stringify(g.effects)).toContain('TASK_LOST');
  });
});
