import { describe, expect, it } from 'vitest';
import { defaultMasterConfig } from '../../actors/master/config.js';
import { MasterError } from '../../actors/master/effects.js';
import { handleOperatorCall } from '../../actors/master/operator-calls.js';
import { type AgentRecord, createMasterState, type MasterState } from '../../actors/master/state.js';
import { TaskMap } from '../../actors/master/task-map.js';
import { agentTablePage } from '../../actors/master/task-table-agents.js';
import { agentView, taskView } from '../../actors/master/views.js';
import { decode, encode } from '../../bus/index.js';
import { FakeBus, Operator } from '../../frameworks/sdk/index.js';
import {
  AgentTable,
  FrameworkInfo,
  subjects as makeSubjects,
  OperatorCall,
  resources as R,
  TaskInfo,
  TaskState,
} from '../../protocol/index.js';

function agent(i: number): AgentRecord {
  return {
    info: {
      id: `a-${i}`,
      hostname: `host-${i}.example`,
      resources: R.parseResources('cpus:8;mem:4096'),
      attributes: {},
      version: '0.1.0',
    },
    status: 'ACTIVE',
    total: R.parseResources('cpus:8;mem:4096'),
    used: R.parseResources(`cpus:${i % 3};mem:64`),
    offered: [],
    registeredAt: 1000 + i,
    lastSeenAt: 2000 + i,
    tasks: new Set(),
    offers: new Set(),
  } as unknown as AgentRecord;
}

/** cluster is a master state of `agents` agents and `tasks` running tasks of one framework. */
function cluster(agents: number, tasks: number): MasterState {
  const state = createMasterState(defaultMasterConfig({ masterId: 'm-pages' }), 1000, {
    agentOrder: 'added',
  });
  for (let i = 0; i < agents; i++) state.agents.set(`a-${i}`, agent(i));
  const records = new TaskMap();
  for (let i = 0; i < tasks; i++) {
    const taskId = `t-${i}`;
    records.set(taskId, {
      frameworkId: 'f-1',
      agentId: `a-${i % Math.max(1, agents)}`,
      role: '*',
      info: TaskInfo.parse({
        taskId,
        name: 'n',
        resources: R.parseResources('cpus:0.1'),
        command: { value: 'true' },
      }),
      status: { taskId, state: TaskState.RUNNING, source: 'SOURCE_AGENT', timestamp: i },
    });
  }
  state.frameworks.set('f-1', {
    info: FrameworkInfo.parse({ id: 'f-1', name: 'f' }),
    status: 'CONNECTED',
    subscribedAt: 1000,
    lastSeenAt: 1000,
    nextHeartbeatAt: 0,
    used: [],
    offered: [],
    tasks: records,
    completed: [],
    offers: new Set(),
  } as unknown as MasterState['frameworks'] extends Map<string, infer F> ? F : never);
  return state;
}

/** getState answers a GET_STATE call as the master does, through the wire and its validation. */
function getState(state: MasterState, call: Record<string, unknown>) {
  const parsed = OperatorCall.parse({ type: 'GET_STATE', ...call });
  const { result } = handleOperatorCall(state, parsed, 5000);
  return decode(encode(result), Number.MAX_SAFE_INTEGER) as Record<string, unknown> & {
    agentTable?: unknown;
    totalAgents?: number;
    nextAgentsFrom?: number;
  };
}

const rowsOf = (table: unknown) => AgentTable.parse(table).toArray();

describe('agent tables a page at a time', () => {
  const state = cluster(23, 40);
  const all = [...state.agents.values()].map(agentView);

  it('pages the agents in order, every agent once, with the next page named', () => {
    const seen = [];
    const nexts = [];
    let from: number | undefined = 0;
    while (from !== undefined) {
      const page = agentTablePage(state.agents, from, { maxRows: 5, maxBytes: Number.MAX_SAFE_INTEGER });
      expect(page.totalAgents).toBe(23);
      seen.push(...rowsOf(page.table));
      from = page.nextAgentsFrom;
      nexts.push(from);
    }
    expect(nexts).toEqual([5, 10, 15, 20, undefined]);
    expect(seen).toEqual(all);
  });

  it('ends a page at its byte budget, keeping at least one agent, and is empty past the end', () => {
    // Each of these agents is about 3 + 16 + 40 bytes.
    const page = agentTablePage(state.agents, 0, { maxRows: 100, maxBytes: 200 });
    expect(page.table.rows).toBe(3);
    expect(page.nextAgentsFrom).toBe(3);
    expect(page.bytes).toBeLessThanOrEqual(200);
    expect(agentTablePage(state.agents, 0, { maxRows: 100, maxBytes: 1 }).table.rows).toBe(1);
    const past = agentTablePage(state.agents, 23, { maxRows: 5, maxBytes: 1000 });
    expect([past.table.rows, past.nextAgentsFrom, past.totalAgents]).toEqual([0, undefined, 23]);
  });

  it('sends a page of agents with every GET_STATE page that asks for one, whatever its tasks', () => {
    const first = getState(state, { maxTasks: 10, tasksAs: 'table', agentsAs: 'table', maxAgents: 8 });
    expect([first.totalAgents, first.nextAgentsFrom, (first.frameworks as unknown[]).length]).toEqual([
      23, 8, 1,
    ]);
    expect(rowsOf(first.agentTable)).toEqual(all.slice(0, 8));
    const later = getState(state, {
      tasksFrom: 30,
      maxTasks: 10,
      tasksAs: 'table',
      agentsAs: 'table',
      agentsFrom: 16,
      maxAgents: 8,
    });
    expect([later.totalAgents, later.nextAgentsFrom, later.nextTasksFrom]).toEqual([
      23,
      undefined,
      undefined,
    ]);
    expect(rowsOf(later.agentTable)).toEqual(all.slice(16));
    // Agents only: past the last task.
    const agentsOnly = getState(state, {
      tasksFrom: 40,
      tasksAs: 'table',
      agentsAs: 'table',
      agentsFrom: 20,
    });
    expect(rowsOf(agentsOnly.agentTable)).toEqual(all.slice(20));
  });

  it('sends the whole table with the first page only when the agents are not paged, as before', () => {
    const first = getState(state, { maxTasks: 10, tasksAs: 'table', agentsAs: 'table' });
    expect(rowsOf(first.agentTable)).toEqual(all);
    expect([first.totalAgents, first.nextAgentsFrom]).toEqual([undefined, undefined]);
    const later = getState(state, { tasksFrom: 10, maxTasks: 10, tasksAs: 'table', agentsAs: 'table' });
    expect(later.agentTable).toBeUndefined();
  });

  it('refuses paged agents that are not asked for as a table, and bad bounds', () => {
    for (const call of [{ maxAgents: 5 }, { agentsFrom: 5, agentsAs: 'objects' }]) {
      const parsed = OperatorCall.parse({ type: 'GET_STATE', ...call });
      expect(() => handleOperatorCall(state, parsed, 5000)).toThrow(MasterError);
      expect(() => handleOperatorCall(state, parsed, 5000)).toThrow(/agentsAs 'table'/);
    }
    for (const call of [{ maxAgents: 0 }, { agentsFrom: -1 }, { maxAgents: 1.5 }]) {
      expect(OperatorCall.safeParse({ type: 'GET_STATE', agentsAs: 'table', ...call }).success).toBe(false);
    }
  });
});

describe('the SDK reading agents a page at a time with the tasks', () => {
  /** reader is an Operator whose master answers from `state`, recording where each page started. */
  function reader(state: MasterState) {
    const bus = new FakeBus(
      (_subject, call) => handleOperatorCall(state, OperatorCall.parse(call), 5000).result,
    );
    return { op: new Operator(bus, makeSubjects('t.v1')), bus };
  }
  const starts = (bus: FakeBus) =>
    bus.requests
      .map((r) => r.call as { tasksFrom: number; agentsFrom?: number })
      .map((c) => `${c.tasksFrom}/${c.agentsFrom ?? '-'}`)
      .sort();

  it('reads every agent once along with the task pages when they run out first', async () => {
    const state = cluster(23, 40);
    const { op, bus } = reader(state);
    const read = await op.stateRows({ pageTasks: 10, pageAgents: 8 });
    expect(read.agents).toEqual([...state.agents.values()].map(agentView));
    expect(read.tasks.toArray()).toEqual(
      [...(state.frameworks.get('f-1')?.tasks.values() ?? [])].map(taskView),
    );
    expect(read.totalAgents).toBe(23);
    // Four pages of tasks; the agents come with the first three, the fourth asks for none.
    expect(starts(bus)).toEqual(['0/0', '10/8', '20/16', '30/-']);
  });

  it('goes on with pages of agents alone once the tasks are read', async () => {
    const state = cluster(23, 12);
    const { op, bus } = reader(state);
    const pages: number[] = [];
    const read = await op.stateRows({ pageTasks: 10, pageAgents: 5, onPage: (p) => pages.push(p.rows) });
    expect(read.agents).toEqual([...state.agents.values()].map(agentView));
    expect(read.tasks.length).toBe(12);
    expect(pages).toEqual([10, 2, 0, 0, 0]);
    expect(starts(bus)).toEqual(['0/0', '10/5', '12/10', '12/15', '12/20']);
  });

  it('reads the agents of a master that does not page them: all with the first page', async () => {
    const state = cluster(23, 40);
    // Such a master drops the fields it does not know (as zod objects do) and answers as before.
    const bus = new FakeBus((_subject, call) => {
      const { agentsFrom: _, maxAgents: __, ...known } = OperatorCall.parse(call) as Record<string, unknown>;
      return handleOperatorCall(state, known as OperatorCall, 5000).result;
    });
    const read = await new Operator(bus, makeSubjects('t.v1')).stateRows({ pageTasks: 10, pageAgents: 8 });
    expect(read.agents).toEqual([...state.agents.values()].map(agentView));
    expect(read.tasks.length).toBe(40);
    // The agents ended with the first page; later pages ask for none.
    expect(starts(bus)).toEqual(['0/0', '10/-', '20/-', '30/-']);
  });

  it('reads a state of one page, agents and tasks, in one request', async () => {
    const state = cluster(3, 4);
    const { op, bus } = reader(state);
    const read = await op.stateRows();
    expect([read.agents.length, read.tasks.length, bus.requests.length]).toEqual([3, 4, 1]);
  });
});
