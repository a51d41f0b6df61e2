import { describe, expect, it } from 'vitest';
import { type FollowedAgents, followAgentMessage } from '../../actors/master/agent-follower.js';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { defaultMasterConfig } from '../../actors/master/config.js';
import { MasterError } from '../../actors/master/effects.js';
import { applyRegistryOps, emptyRegistry } from '../../actors/master/registry.js';
import { restoreFromRegistry } from '../../actors/master/registry-restore.js';
import { createMasterState, type MasterState } from '../../actors/master/state.js';
import { decode, encode } from '../../bus/index.js';
import {
  AgentCapability,
  AgentInfo,
  AgentToMaster,
  type AgentToMasterInput,
  FrameworkInfo,
  isTerminal,
  resources as R,
  type Registered,
  type RunningTask,
  type StatusUpdate,
  TaskInfo,
  type TaskState,
  taskDigest,
} from '../../protocol/index.js';

/**
 * After a failover, an agent whose REGISTER carries a digest that matches what the new leader's
 * follower copied gets its tasks from the copy. The master's books must come out exactly as if
 * the agent had sent every task: same records, same charges, same allocator holdings.
 */
const info = AgentInfo.parse({
  id: 'a1',
  hostname: 'h-a1',
  resources: R.parseResources('cpus:16;mem:8192;cpus(prod):8;ports:[31000-32000]'),
  version: '0.1.0',
});
const f1 = FrameworkInfo.parse({ id: 'f1', name: 'f1', roles: ['eng', 'prod'], failoverTimeoutSeconds: 60 });
const f2 = FrameworkInfo.parse({ id: 'f2', name: 'f2', roles: ['eng'], failoverTimeoutSeconds: 60 });
/** Not in the registry: only the agent's REGISTER (or the copy of it) tells the master of it. */
const f3 = FrameworkInfo.parse({ id: 'f3', name: 'f3', failoverTimeoutSeconds: 60 });

let uuids = 0;
const task = (frameworkId: string, taskId: string, res: string, state: TaskState = 'TASK_RUNNING') => ({
  frameworkId,
  task: TaskInfo.parse({
    taskId,
    name: `n-${taskId}`,
    agentId: 'a1',
    resources: R.parseResources(res),
    command: { value: `run ${taskId}`, env: { TASK: taskId } },
    labels: { app: frameworkId },
  }),
  status: {
    taskId,
    agentId: 'a1',
    state,
    source: 'SOURCE_EXECUTOR' as const,
    uuid: `u-${++uuids}`,
    timestamp: 4000 + uuids,
  },
});

const held: RunningTask[] = [
  task('f1', 't1', 'cpus:1;mem:100'),
  task('f1', 't2', 'cpus:2;mem:200;ports:[31000-31001]'),
  task('f1', 't3', 'cpus(prod):3;mem:300'),
  task('f2', 't1', 'cpus:0.5;mem:50'),
  task('f2', 't4', 'cpus:1.5;mem:150', 'TASK_STARTING'),
  task('f3', 't5', 'cpus:0.25;mem:25'),
  // Ended, its update not yet acknowledged: sent in full either way.
  task('f2', 't6', 'cpus:1;mem:10', 'TASK_FINISHED'),
];

function restored(): MasterState {
  const state = createMasterState(defaultMasterConfig({ masterId: 'm2' }), 5000, { agentOrder: 'added' });
  state.leader = { epoch: 7, electedAt: 5000, ha: true };
  restoreFromRegistry(
    state,
    applyRegistryOps(emptyRegistry(), [
      { type: 'AGENT_ADMITTED', agent: info, total: info.resources },
      { type: 'FRAMEWORK_ADDED', framework: f1 },
      { type: 'FRAMEWORK_ADDED', framework: f2 },
    ]),
    5000,
    65_000,
  );
  return state;
}

/** wire sends a message the way the bus does: encoded, decoded, validated. */
const wire = (msg: AgentToMasterInput) => AgentToMaster.parse(decode(encode(msg)));

const fullRegister = (tasks: RunningTask[]) =>
  wire({ type: 'REGISTER', agent: info, tasks, frameworks: [f1, f2, f3] });

/** The REGISTER an agent sends to a master that takes a digest: its running tasks as a digest. */
function digestRegister(tasks: RunningTask[]) {
  const ended = tasks.filter((t) => isTerminal(t.status.state));
  const running = tasks.filter((t) => !isTerminal(t.status.state));
  const theirs = new Set(ended.map((t) => t.frameworkId));
  return wire({
    type: 'REGISTER',
    agent: info,
    tasks: ended,
    frameworks: [f1, f2, f3].filter((f) => theirs.has(f.id)),
    tasksDigest: taskDigest(running),
  });
}

/** books is everything the master keeps about the agent's tasks, in comparable form. */
function books(state: MasterState) {
  const fws = [...state.frameworks.values()].map((fw) => ({
    id: fw.info.id,
    status: fw.status,
    used: R.normalize(fw.used),
    tasks: [...fw.tasks.values()]
      .map((t) => ({ ...t, info: { ...t.info }, status: { ...t.status } }))
      .sort((a, b) => a.info.taskId.localeCompare(b.info.taskId)),
    completed: fw.completed.map((t) => ({ ...t, info: { ...t.info }, status: { ...t.status } })),
    unacknowledged: [...(fw.unacknowledged?.keys() ?? [])],
  }));
  const agent = state.agents.get('a1');
  return {
    fws,
    agent: {
      status: agent?.status,
      tasks: [...(agent?.tasks ?? [])].sort(),
      used: R.normalize(agent?.used ?? []),
    },
    allocation: state.allocator.agentAllocations('a1'),
  };
}

function follow(tasks: RunningTask[]): FollowedAgents {
  const copies: FollowedAgents = new Map();
  followAgentMessage(copies, 'a1', fullRegister(tasks));
  return copies;
}

describe('a REGISTER with a tasks digest', () => {
  it('leaves the master with the same books as the same REGISTER with every task', () => {
    const full = restored();
    const sent = handleAgentMessage(full, 'a1', fullRegister(held), 5001);
    const digested = restored();
    digested.followed = follow(held);
    const taken = handleAgentMessage(digested, 'a1', digestRegister(held), 5001);
    expect(books(digested)).toEqual(books(full));
    expect(taken).toEqual(sent);
    // The copy is the master's now: it is not handed out twice.
    expect(digested.followed.has('a1')).toBe(false);
    expect(full.frameworks.get('f1')?.tasks.size).toBe(3);
    expect(full.frameworks.get('f3')?.tasks.size).toBe(1);
  });

  it('takes the copy as status updates left it', () => {
    const copies = follow(held);
    // The agent's tasks move on after its REGISTER: t4 starts, t1 of f1 ends, t2 turns healthy.
    const now = held.map((t) => ({ ...t, status: { ...t.status } }));
    const update = (i: number, state: TaskState, extra: object = {}) => {
      now[i].status = { ...now[i].status, state, uuid: `v-${i}-${state}`, timestamp: 9000 + i, ...extra };
      followAgentMessage(
        copies,
        'a1',
        wire({
          type: 'STATUS_UPDATE',
          update: { frameworkId: now[i].frameworkId, status: now[i].status as StatusUpdate['status'] },
        }),
      );
    };
    update(4, 'TASK_RUNNING');
    update(0, 'TASK_FINISHED');
    update(1, 'TASK_RUNNING', { healthy: true });
    const full = restored();
    handleAgentMessage(full, 'a1', fullRegister(now), 5001);
    const digested = restored();
    digested.followed = copies;
    handleAgentMessage(digested, 'a1', digestRegister(now), 5001);
    expect(books(digested)).toEqual(books(full));
  });

  it('lists TASK_DIGEST in Registered only from a highly available master', () => {
    const ha = restored();
    const r = handleAgentMessage(ha, 'a1', fullRegister(held), 5001).result as Registered;
    expect(r.capabilities).toContain(AgentCapability.TASK_DIGEST);
    const single = restored();
    single.leader = { epoch: 0, electedAt: 5000, ha: false };
    const s = handleAgentMessage(single, 'a1', fullRegister(held), 5001).result as Registered;
    expect(s.capabilities).not.toContain(AgentCapability.TASK_DIGEST);
  });

  it('is refused with DIGEST_MISMATCH, changing nothing, when no copy matches', () => {
    const cases: [string, FollowedAgents | undefined, RunningTask[]][] = [
      ['no copy at all', undefined, held],
      ['no copy of this agent', new Map(), held],
      // The agent launched a task the follower never saw.
      ['a task the copy lacks', follow(held), [...held, task('f1', 't9', 'cpus:1;mem:1')]],
      // The follower missed an update.
      [
        'a status the copy lacks',
        follow(held),
        held.map((t, i) => (i === 0 ? { ...t, status: { ...t.status, uuid: 'other' } } : t)),
      ],
      // Same ids and statuses, but the agent runs another command under the id.
      [
        'another task info',
        follow(held),
        held.map((t, i) =>
          i === 3 ? { ...t, task: { ...t.task, command: { ...t.task.command, value: 'other' } } } : t,
        ),
      ],
    ];
    for (const [what, copies, tasks] of cases) {
      const state = restored();
      if (copies) state.followed = copies;
      const before = books(state);
      let err: unknown;
      try {
        handleAgentMessage(state, 'a1', digestRegister(tasks), 5001);
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(MasterError);
      expect((err as MasterError).code, what).toBe('DIGEST_MISMATCH');
      expect(books(state), what).toEqual(before);
      expect(state.recovering?.has('a1'), what).toBe(true);
    }
  });

  it('is refused as a bad request when it lists running tasks besides the digest', () => {
    const state = restored();
    state.followed = follow(held);
    const msg = { ...digestRegister(held), tasks: held };
    expect(() => handleAgentMessage(state, 'a1', msg, 5001)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST' }),
    );
    expect(state.followed.has('a1')).toBe(true);
  });

  it('is used once: the same digest again must come with the tasks', () => {
    const state = restored();
    state.followed = follow(held);
    handleAgentMessage(state, 'a1', digestRegister(held), 5001);
    expect(() => handleAgentMessage(state, 'a1', digestRegister(held), 5002)).toThrow(
      expect.objectContaining({ code: 'DIGEST_MISMATCH' }),
    );
  });
});
