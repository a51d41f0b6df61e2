import { describe, expect, it } from 'vitest';
import {
  type FollowedAgents,
  followAgentMessage,
  followedDigest,
  followLaunch,
  MAX_LAUNCHES_HELD,
} from '../../actors/master/agent-follower.js';
import { decode, encode } from '../../bus/index.js';
import {
  AgentInfo,
  AgentToMaster,
  type AgentToMasterInput,
  FrameworkInfo,
  isTerminal,
  MasterToBatchingAgent,
  resources as R,
  type RunningTask,
  type StatusUpdate,
  TaskInfo,
  type TaskState,
  taskDigest,
} from '../../protocol/index.js';

/**
 * A standby's copy of an agent's running tasks must digest exactly as the agent digests what it
 * holds, through its REGISTER and every status update after it; whatever the copy cannot know
 * (a task launched since) must make the digests differ, never agree on something wrong.
 */
const agent = AgentInfo.parse({
  id: 'a1',
  hostname: 'h',
  resources: R.parseResources('cpus:8;mem:1024'),
  version: '0.1.0',
});
const fw = FrameworkInfo.parse({ id: 'f1', name: 'f1', failoverTimeoutSeconds: 60 });
const wire = (msg: AgentToMasterInput) => AgentToMaster.parse(decode(encode(msg)));

let n = 0;
const task = (taskId: string, state: TaskState = 'TASK_RUNNING'): RunningTask => ({
  frameworkId: 'f1',
  task: TaskInfo.parse({
    taskId,
    name: taskId,
    agentId: 'a1',
    resources: R.parseResources('cpus:1;mem:8'),
    command: { value: 'x' },
  }),
  status: { taskId, agentId: 'a1', state, source: 'SOURCE_EXECUTOR', uuid: `u${++n}`, timestamp: n },
});

/** An agent as the test drives it: what it holds, and the digest it would send. */
function agentSide(tasks: RunningTask[]) {
  const held = new Map(tasks.map((t) => [t.task.taskId, t]));
  return {
    held,
    digest: () => taskDigest([...held.values()].filter((t) => !isTerminal(t.status.state))),
    update(copies: FollowedAgents, taskId: string, state: TaskState, agentId = 'a1') {
      const t = held.get(taskId) as RunningTask;
      t.status = { ...t.status, state, uuid: `u${++n}`, timestamp: n, agentId };
      followAgentMessage(
        copies,
        'a1',
        wire({
          type: 'STATUS_UPDATE',
          update: { frameworkId: 'f1', status: t.status as StatusUpdate['status'] },
        }),
      );
    },
  };
}

/** following is a standby's copies once it overheard the agent's REGISTER of what `side` holds. */
function following(side: ReturnType<typeof agentSide>): FollowedAgents {
  const copies: FollowedAgents = new Map();
  followAgentMessage(
    copies,
    'a1',
    wire({ type: 'REGISTER', agent, tasks: [...side.held.values()], frameworks: [fw] }),
  );
  return copies;
}

/** digestOf is the digest of agent a1's copy, if there is one. */
const digestOf = (copies: FollowedAgents) => {
  const copy = copies.get('a1');
  return copy && followedDigest(copy);
};

describe('following an agent', () => {
  it('copies the running tasks of its REGISTER, ready as the master keeps them', () => {
    const side = agentSide([task('t1'), task('t2'), task('t3', 'TASK_FAILED')]);
    const copies = following(side);
    const copy = copies.get('a1');
    expect(copy && followedDigest(copy)).toEqual(side.digest());
    expect([...(copy?.tasks.keys() ?? [])]).toEqual(['f1/t1', 'f1/t2']);
    const record = copy?.tasks.get('f1/t1')?.record;
    expect(record).toMatchObject({
      frameworkId: 'f1',
      agentId: 'a1',
      recentUuids: side.held.get('t1')?.status.uuid,
    });
    expect(record?.info.agentId).toBe('a1');
    // Shared parts are frozen: nothing can change one task's resources under another.
    expect(Object.isFrozen(record?.info.resources)).toBe(true);
    expect(copy?.frameworks).toEqual([fw]);
  });

  it('keeps the digest in step through status updates, and drops tasks that end', () => {
    const side = agentSide([task('t1'), task('t2'), task('t3')]);
    const copies = following(side);
    side.update(copies, 't1', 'TASK_RUNNING');
    side.update(copies, 't2', 'TASK_KILLING');
    side.update(copies, 't3', 'TASK_FINISHED');
    const copy = copies.get('a1');
    expect(copy && followedDigest(copy)).toEqual(side.digest());
    expect(copy?.tasks.has('f1/t3')).toBe(false);
    expect(copy?.tasks.get('f1/t2')?.record.status.state).toBe('TASK_KILLING');
  });

  it('cannot agree with an agent about a task launched since its REGISTER, or an update it did not apply', () => {
    const side = agentSide([task('t1')]);
    const copies = following(side);
    // A new task's first update: the copy has no info for it, so it stays out and the digests differ.
    const t9 = task('t9', 'TASK_STARTING');
    side.held.set('t9', t9);
    followAgentMessage(
      copies,
      'a1',
      wire({
        type: 'STATUS_UPDATE',
        update: { frameworkId: 'f1', status: t9.status as StatusUpdate['status'] },
      }),
    );
    const copy = copies.get('a1');
    expect(copy?.tasks.has('f1/t9')).toBe(false);
    expect(copy && followedDigest(copy)).not.toEqual(side.digest());
    // An update naming another agent is not this agent's (the leader refuses it too).
    const other = agentSide([task('t5')]);
    const c2 = following(other);
    const before = digestOf(c2);
    other.update(c2, 't5', 'TASK_FAILED', 'a2');
    expect(digestOf(c2)).toEqual(before);
  });

  it('takes in a task the leader launched since the REGISTER at its first update', () => {
    const side = agentSide([task('t1')]);
    const copies = following(side);
    const launch = (taskId: string, agentId = 'a1') =>
      followLaunch(
        copies,
        'a1',
        MasterToBatchingAgent.parse({
          type: 'RUN_TASKS',
          framework: fw,
          tasks: [
            {
              taskId,
              name: taskId,
              agentId,
              resources: R.parseResources('cpus:1;mem:8'),
              command: { value: 'x' },
            },
          ],
        }),
      );
    launch('t7');
    launch('t8');
    launch('t6', 'a2');
    const copy = copies.get('a1');
    // Launched, not yet reported: held aside, not in the digest (the agent's REGISTER would show its own STAGING status).
    expect(copy?.launched.size).toBe(2);
    expect(copy && followedDigest(copy)).toEqual(side.digest());
    // The agent holds them as launched (the info the leader sent, with the defaults zod fills in) and reports them.
    for (const id of ['t7', 't8'])
      side.held.set(id, {
        frameworkId: 'f1',
        task: copy?.launched.get(`f1/${id}`) as TaskInfo,
        status: task(id, 'TASK_STAGING').status,
      });
    side.update(copies, 't7', 'TASK_STARTING');
    side.update(copies, 't8', 'TASK_FAILED');
    expect(copy?.launched.size).toBe(0);
    expect([...(copy?.tasks.keys() ?? [])]).toEqual(['f1/t1', 'f1/t7']);
    expect(copy && followedDigest(copy)).toEqual(side.digest());
    // A launch for an agent nobody follows is not kept.
    followLaunch(copies, 'a9', MasterToBatchingAgent.parse({ type: 'REREGISTER' }));
    expect(copies.has('a9')).toBe(false);
  });

  it('holds at most MAX_LAUNCHES_HELD unreported launches per agent, dropping the oldest', () => {
    const copies: FollowedAgents = new Map();
    followAgentMessage(copies, 'a1', wire({ type: 'REGISTER', agent, tasks: [], frameworks: [] }));
    const tasks = Array.from({ length: MAX_LAUNCHES_HELD + 5 }, (_, i) => ({
      taskId: `l${i}`,
      name: 'l',
      agentId: 'a1',
      resources: [],
      command: { value: 'x' },
    }));
    followLaunch(
      copies,
      'a1',
      MasterToBatchingAgent.parse({
        type: 'RUN_TASKS',
        framework: fw,
        tasks: tasks.slice(0, MAX_LAUNCHES_HELD),
      }),
    );
    followLaunch(
      copies,
      'a1',
      MasterToBatchingAgent.parse({
        type: 'RUN_TASKS',
        framework: fw,
        tasks: tasks.slice(MAX_LAUNCHES_HELD),
      }),
    );
    const launched = copies.get('a1')?.launched;
    expect(launched?.size).toBe(MAX_LAUNCHES_HELD);
    expect(launched?.has('f1/l0')).toBe(false);
    expect(launched?.has(`f1/l${MAX_LAUNCHES_HELD + 4}`)).toBe(true);
  });

  it('forgets an agent that unregisters, and one whose digest REGISTER went elsewhere', () => {
    const side = agentSide([task('t1')]);
    const copies: FollowedAgents = new Map();
    const register = wire({ type: 'REGISTER', agent, tasks: [...side.held.values()], frameworks: [fw] });
    followAgentMessage(copies, 'a1', register);
    // A digest REGISTER that matches (to another master after a failover) keeps the copy...
    followAgentMessage(copies, 'a1', wire({ type: 'REGISTER', agent, tasksDigest: side.digest() }));
    expect(copies.has('a1')).toBe(true);
    // ...one that does not drops it; so does UNREGISTER, and a REGISTER on another agent's subject changes nothing.
    followAgentMessage(
      copies,
      'a1',
      wire({ type: 'REGISTER', agent, tasksDigest: { count: 9, hash: '0000000000000001' } }),
    );
    expect(copies.has('a1')).toBe(false);
    followAgentMessage(copies, 'a1', register);
    followAgentMessage(copies, 'a2', register);
    expect(copies.has('a2')).toBe(false);
    followAgentMessage(copies, 'a1', wire({ type: 'UNREGISTER' }));
    expect(copies.size).toBe(0);
  });
});
