import { describe, expect, it } from 'vitest';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { TaskCharges } from '../../actors/master/bookkeeping.js';
import { defaultMasterConfig } from '../../actors/master/config.js';
import { applyRegistryOps, emptyRegistry } from '../../actors/master/registry.js';
import { restoreFromRegistry } from '../../actors/master/registry-restore.js';
import { createMasterState } from '../../actors/master/state.js';
import { AgentInfo, FrameworkInfo, resources as R, TaskInfo } from '../../protocol/index.js';

/**
 * A re-registering agent's tasks are placed one by one but charged in one sum per framework and
 * one for the agent (TaskCharges), and handed to the allocator as one holding per (framework,
 * role): the books must come out as if each task had been charged on its own.
 */
const info = AgentInfo.parse({
  id: 'a1',
  hostname: 'h-a1',
  resources: R.parseResources('cpus:16;mem:4096;cpus(prod):8'),
  version: '0.1.0',
});
const fw = (id: string, roles: string[]) =>
  FrameworkInfo.parse({ id, name: id, roles, failoverTimeoutSeconds: 60 });
const running = (frameworkId: string, taskId: string, res: string) => ({
  frameworkId,
  task: TaskInfo.parse({
    taskId,
    name: taskId,
    agentId: 'a1',
    resources: R.parseResources(res),
    command: { value: 'sleep 1d' },
  }),
  status: {
    taskId,
    agentId: 'a1',
    state: 'TASK_RUNNING' as const,
    source: 'SOURCE_EXECUTOR' as const,
    timestamp: 4000,
  },
});

function restored() {
  const state = createMasterState(defaultMasterConfig({ masterId: 'm2' }), 5000, { agentOrder: 'added' });
  restoreFromRegistry(
    state,
    applyRegistryOps(emptyRegistry(), [
      { type: 'AGENT_ADMITTED', agent: info, total: info.resources },
      { type: 'FRAMEWORK_ADDED', framework: fw('f1', ['eng', 'prod']) },
      { type: 'FRAMEWORK_ADDED', framework: fw('f2', ['eng']) },
    ]),
    5000,
    65_000,
  );
  return state;
}

const tasks = [
  running('f1', 't1', 'cpus:1;mem:100'),
  running('f1', 't2', 'cpus:2;mem:200'),
  running('f1', 't3', 'cpus(prod):3;mem:300'),
  running('f2', 't1', 'cpus:0.5;mem:50'),
  running('f2', 't4', 'cpus:1.5;mem:150'),
];

describe('charging a re-registered agent in one pass', () => {
  it('charges each framework and the agent the sum of its tasks, and the allocator one holding per framework and role', () => {
    const state = restored();
    handleAgentMessage(
      state,
      'a1',
      { type: 'REGISTER', agent: info, frameworks: [fw('f1', ['eng', 'prod']), fw('f2', ['eng'])], tasks },
      5001,
    );
    const a = state.agents.get('a1');
    expect(a?.tasks.size).toBe(5);
    expect(R.equals(a?.used ?? [], R.parseResources('cpus:5;cpus(prod):3;mem:800'))).toBe(true);
    expect(
      R.equals(state.frameworks.get('f1')?.used ?? [], R.parseResources('cpus:3;cpus(prod):3;mem:600')),
    ).toBe(true);
    expect(R.equals(state.frameworks.get('f2')?.used ?? [], R.parseResources('cpus:2;mem:200'))).toBe(true);
    const used = state.allocator.agentAllocations('a1')?.used ?? [];
    const byKey = new Map(used.map((h) => [`${h.frameworkId}/${h.role}`, h.resources]));
    expect([...byKey.keys()].sort()).toEqual(['f1/eng', 'f1/prod', 'f2/eng']);
    expect(R.equals(byKey.get('f1/eng') ?? [], R.parseResources('cpus:3;mem:300'))).toBe(true);
    expect(R.equals(byKey.get('f1/prod') ?? [], R.parseResources('cpus(prod):3;mem:300'))).toBe(true);
    expect(R.equals(byKey.get('f2/eng') ?? [], R.parseResources('cpus:2;mem:200'))).toBe(true);
    expect(
      R.equals(
        state.allocator.agentAllocations('a1')?.available ?? [],
        R.parseResources('cpus:11;cpus(prod):5;mem:3296'),
      ),
    ).toBe(true);
  });

  it('charges a task reported twice in one REGISTER once', () => {
    const state = restored();
    handleAgentMessage(
      state,
      'a1',
      {
        type: 'REGISTER',
        agent: info,
        frameworks: [fw('f1', ['eng', 'prod'])],
        tasks: [running('f1', 't1', 'cpus:1;mem:100'), running('f1', 't1', 'cpus:1;mem:100')],
      },
      5001,
    );
    expect(state.agents.get('a1')?.tasks.size).toBe(1);
    expect(R.scalar(state.agents.get('a1')?.used ?? [], 'cpus')).toBe(1);
    expect(R.scalar(state.frameworks.get('f1')?.used ?? [], 'cpus')).toBe(1);
    expect(R.scalar(state.allocator.agentAllocations('a1')?.used[0]?.resources ?? [], 'cpus')).toBe(1);
  });

  it('re-registering the same tasks again leaves the books as they were', () => {
    const state = restored();
    const msg = {
      type: 'REGISTER' as const,
      agent: info,
      frameworks: [fw('f1', ['eng', 'prod']), fw('f2', ['eng'])],
      tasks,
    };
    handleAgentMessage(state, 'a1', msg, 5001);
    handleAgentMessage(state, 'a1', msg, 5002);
    expect(
      R.equals(state.agents.get('a1')?.used ?? [], R.parseResources('cpus:5;cpus(prod):3;mem:800')),
    ).toBe(true);
    expect(R.scalar(state.frameworks.get('f2')?.used ?? [], 'mem')).toBe(200);
  });

  it('keeps the total it had when the agent reports the same resources, in any order, and takes a changed one', () => {
    const state = restored();
    const agent = state.agents.get('a1');
    if (!agent) throw new Error('a1 was not restored');
    const total = agent.total;
    const reordered = { ...info, resources: [...info.resources].reverse() };
    handleAgentMessage(state, 'a1', { type: 'REGISTER', agent: reordered, frameworks: [], tasks: [] }, 5001);
    expect(agent.total).toBe(total);
    handleAgentMessage(state, 'a1', { type: 'REGISTER', agent: info, frameworks: [], tasks: [] }, 5002);
    expect(agent.total).toBe(total);
    const bigger = { ...info, resources: R.parseResources('cpus:17;mem:4096;cpus(prod):8') };
    handleAgentMessage(state, 'a1', { type: 'REGISTER', agent: bigger, frameworks: [], tasks: [] }, 5003);
    expect(agent.total).toBe(bigger.resources);
  });

  it('TaskCharges refuses a task of another agent and charges nothing for it', () => {
    const state = restored();
    const agent = state.agents.get('a1');
    if (!agent) throw new Error('a1 was not restored');
    const charges = new TaskCharges(state, agent);
    const t = running('f1', 't9', 'cpus:1;mem:1');
    expect(() =>
      charges.add({
        frameworkId: 'f1',
        agentId: 'a2',
        role: 'eng',
        info: { ...t.task, agentId: 'a2' },
        status: t.status,
      }),
    ).toThrow(/on agent a2, not a1/);
    charges.done();
    expect(agent.used).toEqual([]);
    expect(state.frameworks.get('f1')?.tasks.size).toBe(0);
  });
});
