import { describe, expect, it } from 'vitest';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { defaultMasterConfig } from '../../actors/master/config.js';
import {
  applyRegistryOp,
  applyRegistryOps,
  emptyRegistry,
  type Registry,
  type RegistryOp,
  toSnapshot,
  type UnknownRegistryOp,
} from '../../actors/master/registry.js';
import { registryDiff, same } from '../../actors/master/registry-diff.js';
import { restoreFromRegistry } from '../../actors/master/registry-restore.js';
import { createMasterState } from '../../actors/master/state.js';
import { AgentInfo, FrameworkInfo, resources as R, TaskInfo } from '../../protocol/index.js';

const agent = (id: string) =>
  AgentInfo.parse({
    id,
    hostname: `h-${id}`,
    resources: R.parseResources('cpus:4;mem:1024'),
    version: '0.1.0',
  });
const fw = (id: string) => FrameworkInfo.parse({ id, name: id, roles: ['eng'], failoverTimeoutSeconds: 60 });

/** Every op type, in an order where later ops depend on earlier ones, plus one from a newer version. */
const ops: (RegistryOp | UnknownRegistryOp)[] = [
  { type: 'AGENT_ADMITTED', agent: agent('a1'), total: agent('a1').resources },
  { type: 'AGENT_ADMITTED', agent: agent('a2'), total: agent('a2').resources },
  { type: 'AGENT_ADMITTED', agent: agent('a3'), total: agent('a3').resources },
  { type: 'AGENT_RESOURCES', agentId: 'a1', total: R.parseResources('cpus:3;cpus(eng):1;mem:1024') },
  { type: 'AGENT_UNREACHABLE', agentId: 'a2', since: 700 },
  { type: 'MAINTENANCE_SET', agentId: 'a3', mode: 'DRAINING' },
  { type: 'AGENT_REMOVED', agentId: 'a3' },
  { type: 'AGENT_ADMITTED', agent: agent('a4'), total: agent('a4').resources },
  { type: 'AGENT_GONE', agentId: 'a4' },
  // Never readmitted once gone, even within the same batch.
  { type: 'AGENT_ADMITTED', agent: agent('a4'), total: agent('a4').resources },
  { type: 'AGENT_TELEPORTED' },
  { type: 'FRAMEWORK_ADDED', framework: fw('f1') },
  { type: 'FRAMEWORK_ADDED', framework: fw('f2') },
  { type: 'FRAMEWORK_REMOVED', frameworkId: 'f1' },
  { type: 'WEIGHTS_SET', weights: { eng: 2 } },
  { type: 'QUOTA_SET', role: 'eng', quota: { guarantee: R.parseResources('cpus:1'), limit: [] } },
  { type: 'QUOTA_SET', role: 'eng', quota: null },
  { type: 'MAINTENANCE_SET', agentId: 'a1', mode: 'DOWN' },
];

const oneByOne = (reg: Registry, list: readonly (RegistryOp | UnknownRegistryOp)[]) =>
  list.reduce((r, op) => applyRegistryOp(r, op), reg);

describe('applying a batch of registry ops', () => {
  it('gives the same registry as applying them one at a time, for every prefix of the batch', () => {
    for (let n = 0; n <= ops.length; n++) {
      const batch = ops.slice(0, n);
      expect(toSnapshot(applyRegistryOps(emptyRegistry(), batch))).toEqual(
        toSnapshot(oneByOne(emptyRegistry(), batch)),
      );
    }
  });

  it('reports each op of an unknown type and applies the rest', () => {
    const seen: string[] = [];
    const reg = applyRegistryOps(emptyRegistry(), ops, (t) => seen.push(t));
    expect(seen).toEqual(['AGENT_TELEPORTED']);
    expect([...reg.agents.keys()].sort()).toEqual(['a1', 'a2', 'a4']);
    expect(reg.agents.get('a4')?.status).toBe('GONE');
    expect([...reg.frameworks.keys()]).toEqual(['f2']);
  });

  it('leaves the registry it was given untouched and shares the tables no op changed', () => {
    const before = applyRegistryOps(emptyRegistry(), ops.slice(0, 3));
    const snapshot = JSON.stringify(toSnapshot(before));
    const after = applyRegistryOps(before, [
      { type: 'AGENT_UNREACHABLE', agentId: 'a1', since: 900 },
      { type: 'AGENT_UNREACHABLE', agentId: 'a3', since: 900 },
    ]);
    expect(JSON.stringify(toSnapshot(before))).toBe(snapshot);
    expect(after.agents).not.toBe(before.agents);
    expect(after.agents.get('a1')?.status).toBe('UNREACHABLE');
    // Untouched tables are the same objects: nothing was copied for them.
    expect(after.frameworks).toBe(before.frameworks);
    expect(after.maintenance).toBe(before.maintenance);
  });

  it('returns the registry itself when no op changes anything', () => {
    const before = applyRegistryOps(emptyRegistry(), ops.slice(0, 3));
    const after = applyRegistryOps(before, [
      { type: 'AGENT_RESOURCES', agentId: 'zz', total: [] },
      { type: 'FRAMEWORK_REMOVED', frameworkId: 'nope' },
      { type: 'AGENT_TELEPORTED' },
    ]);
    expect(after).toBe(before);
  });
});

describe('a re-registration after a failover', () => {
  it('writes nothing to the registry when the agent comes back as the registry knows it', () => {
    const reg = applyRegistryOps(emptyRegistry(), [
      { type: 'AGENT_ADMITTED', agent: agent('a1'), total: agent('a1').resources },
      { type: 'FRAMEWORK_ADDED', framework: fw('f1') },
    ]);
    const state = createMasterState(defaultMasterConfig({ masterId: 'm2' }), 5000, { agentOrder: 'added' });
    restoreFromRegistry(state, reg, 5000, 65_000);
    const task = TaskInfo.parse({
      taskId: 't1',
      name: 't',
      agentId: 'a1',
      resources: R.parseResources('cpus:1;mem:64'),
      command: { value: 'sleep 1d' },
    });
    const out = handleAgentMessage(
      state,
      'a1',
      {
        type: 'REGISTER',
        agent: agent('a1'),
        frameworks: [fw('f1')],
        tasks: [
          {
            frameworkId: 'f1',
            task,
            status: {
              taskId: 't1',
              agentId: 'a1',
              state: 'TASK_RUNNING',
              source: 'SOURCE_EXECUTOR',
              timestamp: 4000,
            },
          },
        ],
      },
      5001,
    );
    expect(out.result).toMatchObject({ agentId: 'a1' });
    state.recovering?.delete('a1');
    expect(state.agents.get('a1')?.status).toBe('ACTIVE');
    expect(registryDiff(reg, state, { agents: ['a1'], frameworks: ['f1'] }, 5001)).toEqual([]);
    // An agent that comes back with other resources is written, once.
    handleAgentMessage(
      state,
      'a1',
      {
        type: 'REGISTER',
        agent: { ...agent('a1'), resources: R.parseResources('cpus:8;mem:1024') },
        frameworks: [],
        tasks: [],
      },
      5002,
    );
    expect(registryDiff(reg, state, { agents: ['a1'] }, 5002).map((o) => o.type)).toEqual(['AGENT_ADMITTED']);
  });
});

describe('comparing what the registry holds with what the master knows', () => {
  it.each([
    [
      'equal objects whatever their key order',
      { a: 1, b: [1, { c: 'x' }] },
      { b: [1, { c: 'x' }], a: 1 },
      true,
    ],
    ['an undefined property as an absent one', { a: 1, b: undefined }, { a: 1 }, true],
    ['a different nested value', { a: 1, b: [1, { c: 'x' }] }, { a: 1, b: [1, { c: 'y' }] }, false],
    ['an extra property', { a: 1 }, { a: 1, b: 2 }, false],
    ['arrays of different lengths', [1, 2], [1, 2, 3], false],
    ['an array and an object', [1], { 0: 1 }, false],
    ['null and an object', null, {}, false],
  ])('tells %s', (_name, a, b, expected) => {
    expect(same(a, b)).toBe(expected);
    expect(same(b, a)).toBe(expected);
  });
});

describe('what a re-registered agent holds', () => {
  const info = (res: string) =>
    AgentInfo.parse({ id: 'a1', hostname: 'h-a1', resources: R.parseResources(res), version: '0.1.0' });
  const running = (id: string) => ({
    frameworkId: 'f1',
    task: TaskInfo.parse({
      taskId: id,
      name: id,
      agentId: 'a1',
      resources: R.parseResources('cpus:1;mem:64'),
      command: { value: 'sleep 1d' },
    }),
    status: {
      taskId: id,
      agentId: 'a1',
      state: 'TASK_RUNNING' as const,
      source: 'SOURCE_EXECUTOR' as const,
      timestamp: 4000,
    },
  });
  const reg = () =>
    applyRegistryOps(emptyRegistry(), [
      { type: 'AGENT_ADMITTED', agent: info('cpus:4;mem:1024'), total: info('cpus:4;mem:1024').resources },
      { type: 'FRAMEWORK_ADDED', framework: fw('f1') },
    ]);
  /** comesBack restores a new leader's state and hands it a1's REGISTER of t1-t3 with `resources`. */
  const comesBack = (resources: string) => {
    const state = createMasterState(defaultMasterConfig({ masterId: 'm2' }), 5000, { agentOrder: 'added' });
    restoreFromRegistry(state, reg(), 5000, 65_000);
    const out = handleAgentMessage(
      state,
      'a1',
      {
        type: 'REGISTER',
        agent: info(resources),
        frameworks: [fw('f1')],
        tasks: ['t1', 't2', 't3'].map(running),
      },
      5001,
    );
    return { state, out };
  };

  it('charges every task it reports when they all fit: cpus 1 + 1 + 1 = 3 of 4', () => {
    const { state } = comesBack('cpus:4;mem:1024');
    const a = state.agents.get('a1');
    expect(a?.tasks.size).toBe(3);
    expect(R.scalar(a?.used ?? [], 'cpus')).toBe(3);
    expect(R.scalar(state.frameworks.get('f1')?.used ?? [], 'cpus')).toBe(3);
  });

  it('stops charging the tasks that no longer fit when it comes back smaller: 3 tasks of 1 cpu on 2 cpus', () => {
    const { state, out } = comesBack('cpus:2;mem:1024');
    expect(out.result).toMatchObject({ agentId: 'a1' });
    const a = state.agents.get('a1');
    expect(a?.tasks.size).toBe(2);
    expect(R.scalar(a?.used ?? [], 'cpus')).toBe(2);
    expect(R.scalar(state.frameworks.get('f1')?.used ?? [], 'cpus')).toBe(2);
  });
});
