import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  type AgentContext,
  createAgentContext,
  DEFAULT_REREGISTRATION_TIMEOUT_MS,
  ENDED_WHILE_DOWN,
  EXITED_UNWATCHED,
  ExecutorWatch,
  type ProcessLiveness,
  type ProcessProbe,
  planRecovery,
  probeProcess,
  processStartTime,
  RecoverMode,
  recoveredContext,
  registrationRequest,
  route,
  type TaskCheckpoint,
} from '../../actors/agent/index.js';
import { FrameworkInfo, type StatusUpdate } from '../../protocol/index.js';

const agentId = 'a-1';
const framework = FrameworkInfo.parse({ id: 'f1', name: 'fw', checkpoint: true });

function fresh(): AgentContext {
  return createAgentContext(
    { id: agentId, hostname: 'h', resources: [], attributes: {}, version: '0.1.0' },
    {
      workDir: '/work',
      statusUpdateRetryMs: 2000,
      statusUpdateRetryCapMs: 60_000,
      defaultKillGracePeriodSeconds: 3,
      registrationBackoff: { baseMs: 1000, capMs: 60_000 },
    },
  );
}

const update = (taskId: string, state: string, uuid: string): StatusUpdate => ({
  frameworkId: 'f1',
  status: { taskId, state: state as 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', agentId, uuid, timestamp: 1 },
});

/** A checkpointing framework's task: executor pid 100 (start 1000), task pid 101 (start 1001), RUNNING unacknowledged. */
function full(
  taskId: string,
  patch: Partial<Extract<TaskCheckpoint, { checkpoint: true }>> = {},
): TaskCheckpoint {
  return {
    version: 1,
    checkpoint: true,
    frameworkId: 'f1',
    taskId,
    executorId: taskId,
    containerId: `c-${taskId}`,
    executorPid: 100,
    executorStartTime: '1000',
    taskPid: 101,
    taskStartTime: '1001',
    sandbox: `/work/frameworks/f1/executors/${taskId}/runs/c-${taskId}`,
    framework,
    task: {
      taskId,
      name: taskId,
      agentId,
      resources: [],
      command: { shell: true, value: 'sleep 60', argv: [] },
    },
    status: { taskId, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', agentId, uuid: 'u2', timestamp: 1 },
    executorExited: false,
    updates: { pending: [update(taskId, 'TASK_RUNNING', 'u2')], seen: ['u1', 'u2'], terminal: false },
    ...patch,
  } as TaskCheckpoint;
}

/** A non-checkpointing framework's task: only its processes. */
const bare = (taskId: string): TaskCheckpoint => ({
  version: 1,
  checkpoint: false,
  frameworkId: 'f2',
  taskId,
  executorId: taskId,
  containerId: `c-${taskId}`,
  executorPid: 200,
  executorStartTime: '2000',
  taskPid: 201,
  taskStartTime: '2001',
});

/** probe plays the process table: pid -> its start time, or absent (gone). */
function probe(table: Record<number, string>): ProcessProbe {
  return (pid, startTime): ProcessLiveness => {
    const actual = table[pid];
    if (actual === undefined) return 'gone';
    return startTime === undefined || startTime === actual ? 'same' : 'other';
  };
}

describe('planRecovery: what a restarted agent does with each checkpointed task', () => {
  const cases: {
    name: string;
    checkpoints: TaskCheckpoint[];
    mode?: RecoverMode;
    table: Record<number, string>;
    reattach: string[];
    ended: string[];
    kill: number[];
    discard: string[];
    tasks: string[];
  }[] = [
    {
      name: 'a checkpointing task whose executor still runs is taken back and reattached',
      checkpoints: [full('t1')],
      table: { 100: '1000', 101: '1001' },
      reattach: ['f1/t1'],
      ended: [],
      kill: [],
      discard: [],
      tasks: ['f1/t1'],
    },
    {
      name: 'a checkpointing task whose executor is gone is taken back and its executor reported ended',
      checkpoints: [full('t1')],
      table: {},
      reattach: [],
      ended: ['f1/t1'],
      kill: [],
      discard: [],
      tasks: ['f1/t1'],
    },
    {
      name: 'an executor pid that another process took since counts as gone, and that process is never killed',
      checkpoints: [full('t1')],
      table: { 100: '5555', 101: '6666' },
      reattach: [],
      ended: ['f1/t1'],
      kill: [],
      discard: [],
      tasks: ['f1/t1'],
    },
    {
      name: 'a task whose executor had already exited waits only for its updates to be acknowledged',
      checkpoints: [full('t1', { executorExited: true })],
      table: {},
      reattach: [],
      ended: [],
      kill: [],
      discard: [],
      tasks: ['f1/t1'],
    },
    {
      name: 'a non-checkpointing task is killed (executor, then task group) and dropped',
      checkpoints: [bare('t2')],
      table: { 200: '2000', 201: '2001' },
      reattach: [],
      ended: [],
      kill: [200, 201],
      discard: ['c-t2'],
      tasks: [],
    },
    {
      name: 'a non-checkpointing task whose pids were reused kills nothing',
      checkpoints: [bare('t2')],
      table: { 200: '9', 201: '9' },
      reattach: [],
      ended: [],
      kill: [],
      discard: ['c-t2'],
      tasks: [],
    },
    {
      name: 'recover=cleanup kills and drops everything, checkpointing or not',
      checkpoints: [full('t1'), bare('t2')],
      mode: RecoverMode.CLEANUP,
      table: { 100: '1000', 101: '1001', 200: '2000', 201: '2001' },
      reattach: [],
      ended: [],
      kill: [100, 101, 200, 201],
      discard: ['c-t1', 'c-t2'],
      tasks: [],
    },
    {
      name: 'a second checkpoint of one task is dropped, the first kept',
      checkpoints: [full('t1'), full('t1', { containerId: 'c-again' })],
      table: { 100: '1000', 101: '1001' },
      reattach: ['f1/t1'],
      ended: [],
      kill: [],
      discard: ['c-again'],
      tasks: ['f1/t1'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planRecovery(c.checkpoints, c.mode ?? RecoverMode.RECONNECT, probe(c.table));
      expect(plan.reattach.map((r) => r.key)).toEqual(c.reattach);
      expect(plan.ended).toEqual(c.ended);
      expect(plan.kill.map((k) => k.pgid)).toEqual(c.kill);
      expect(plan.discard).toEqual(c.discard);
      expect(Object.keys(plan.tasks)).toEqual(c.tasks);
    });
  }

  it('takes a task back with its unacknowledged updates, not yet registered, and drops a task pid it no longer owns', () => {
    const plan = planRecovery([full('t1')], RecoverMode.RECONNECT, probe({ 100: '1000', 101: '7' }));
    expect(plan.tasks['f1/t1']).toMatchObject({
      executorPid: 100,
      executorRegistered: false,
      executorExited: false,
    });
    expect(plan.tasks['f1/t1'].taskPid).toBeUndefined();
    expect(plan.updates['f1/t1'].pending.map((u) => u.status.uuid)).toEqual(['u2']);
    expect(plan.frameworks).toEqual({ f1: framework });
  });
});

describe('a recovered agent', () => {
  const recovered = (table: Record<number, string>, cp = full('t1')) => {
    const plan = planRecovery([cp], RecoverMode.RECONNECT, probe(table));
    return { plan, state: { ...recoveredContext(fresh(), plan), connected: true } };
  };

  it('reports a task whose executor ended while it was down as TASK_FAILED, REASON_EXECUTOR_TERMINATED, after the updates before it', () => {
    const { state } = recovered({});
    const step = route(state, {
      type: 'EXECUTOR_EXITED',
      key: 'f1/t1',
      code: null,
      signal: null,
      message: ENDED_WHILE_DOWN,
      now: 5,
      uuid: 'u-failed',
    });
    const pending = step.state.updates['f1/t1'].pending;
    expect(pending.map((u) => [u.status.state, u.status.uuid])).toEqual([
      ['TASK_RUNNING', 'u2'],
      ['TASK_FAILED', 'u-failed'],
    ]);
    expect(pending[1].status).toMatchObject({
      reason: 'REASON_EXECUTOR_TERMINATED',
      source: 'SOURCE_AGENT',
      message: ENDED_WHILE_DOWN,
    });
    // The task group, still its own, is killed: nothing of the task outlives its executor.
    expect(step.effects).toContainEqual({ kind: 'signalProcessGroup', pgid: 101, signal: 'SIGKILL' });
  });

  it('makes no update for an executor that ended after its task’s terminal update was taken', () => {
    const { state } = recovered(
      {},
      full('t1', {
        status: { taskId: 't1', state: 'TASK_FINISHED', source: 'SOURCE_EXECUTOR', uuid: 'u3', timestamp: 1 },
        updates: { pending: [update('t1', 'TASK_FINISHED', 'u3')], seen: ['u1', 'u2', 'u3'], terminal: true },
      }),
    );
    const step = route(state, {
      type: 'EXECUTOR_EXITED',
      key: 'f1/t1',
      code: null,
      signal: null,
      message: ENDED_WHILE_DOWN,
      now: 5,
      uuid: 'u-x',
    });
    expect(step.state.updates['f1/t1'].pending.map((u) => u.status.uuid)).toEqual(['u3']);
  });

  it('takes the REGISTER of a reattached executor, and drops a resent update it had already taken', () => {
    const { state } = recovered({ 100: '1000', 101: '1001' });
    const registered = route(state, {
      type: 'EXECUTOR_MESSAGE',
      now: 5,
      msg: { type: 'REGISTER', executorId: 't1', frameworkId: 'f1', taskId: 't1', pid: 101 },
      taskStartTime: '1001',
    }).state;
    expect(registered.tasks['f1/t1']).toMatchObject({
      executorRegistered: true,
      taskPid: 101,
      taskStartTime: '1001',
    });
    const resent = route(registered, {
      type: 'EXECUTOR_MESSAGE',
      now: 6,
      msg: {
        type: 'STATUS_UPDATE',
        executorId: 't1',
        frameworkId: 'f1',
        status: { taskId: 't1', state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: 'u2', timestamp: 1 },
      },
    });
    expect(resent.state.updates['f1/t1'].pending).toHaveLength(1);
    expect(resent.effects).toContainEqual({
      kind: 'sendToExecutor',
      executorId: 't1',
      message: { type: 'ACK', uuid: 'u2' },
    });
  });

  it('reports the tasks it took back, and those it completed lately, when it registers', () => {
    const { state } = recovered({ 100: '1000', 101: '1001' });
    const withCompleted: AgentContext = {
      ...state,
      completed: [
        {
          framework,
          task: { ...state.tasks['f1/t1'].task, taskId: 'old' },
          status: { taskId: 'old', state: 'TASK_FINISHED', source: 'SOURCE_EXECUTOR', timestamp: 1 },
        },
      ],
    };
    const req = registrationRequest(withCompleted);
    expect(req.tasks.map((t) => [t.task.taskId, t.status.state])).toEqual([
      ['t1', 'TASK_RUNNING'],
      ['old', 'TASK_FINISHED'],
    ]);
    expect(req.frameworks.map((f) => f.id)).toEqual(['f1']);
  });
});

describe('telling a process from a later one with its pid', () => {
  it('knows a live process by its start time, and a different start time as another process', () => {
    const start = processStartTime(process.pid);
    expect(start).toMatch(/^[0-9]+$/);
    expect(probeProcess(process.pid, start)).toBe('same');
    expect(probeProcess(process.pid, `${start}1`)).toBe('other');
    expect(probeProcess(0, undefined)).toBe('gone');
  });

  it('sees a process that exited as gone, and the watch reports its exit once', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = child.pid as number;
    const start = processStartTime(pid);
    expect(probeProcess(pid, start)).toBe('same');
    const reports: unknown[] = [];
    const watch = new ExecutorWatch({
      intervalMs: 20,
      probe: probeProcess,
      report: (e) => void reports.push(e),
    });
    watch.watch('f1/t1', pid, start);
    await new Promise((r) => setTimeout(r, 100));
    expect(reports).toEqual([]);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(probeProcess(pid, start)).toBe('gone');
    const deadline = Date.now() + 5000;
    while (reports.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    expect(reports).toEqual([
      { type: 'EXECUTOR_EXITED', key: 'f1/t1', code: null, signal: null, message: EXITED_UNWATCHED },
    ]);
    expect(watch.running()).toBe(0);
    watch.stop();
  });
});

describe('completed tasks of a framework that was shut down', () => {
  it('are forgotten, so that no re-registration tells a new master of the framework again', () => {
    const other = FrameworkInfo.parse({ id: 'f9', name: 'other' });
    const done = (fw: FrameworkInfo, taskId: string) => ({
      framework: fw,
      task: {
        taskId,
        name: taskId,
        agentId,
        resources: [],
        command: { shell: true, value: 'true', env: {} },
      },
      status: { taskId, state: 'TASK_FINISHED' as const, source: 'SOURCE_EXECUTOR' as const, timestamp: 1 },
    });
    const state: AgentContext = { ...fresh(), completed: [done(framework, 'a'), done(other, 'b')] };
    const step = route(state, {
      type: 'MASTER_MESSAGE',
      now: 1,
      uuid: 'u',
      msg: { type: 'SHUTDOWN_FRAMEWORK', frameworkId: 'f1' },
    });
    expect(step.state.completed.map((c) => c.task.taskId)).toEqual(['b']);
    expect(registrationRequest(step.state).frameworks.map((f) => f.id)).toEqual(['f9']);
  });
});

describe('re-registration of a reattached executor', () => {
  const reattached = (table: Record<number, string>, cp = full('t1')) => {
    const plan = planRecovery([cp], RecoverMode.RECONNECT, probe(table));
    return { ...recoveredContext(fresh(), plan), connected: true };
  };

  it('tells the executor to RECONNECT and gives it the timeout to REGISTER again', () => {
    const step = route(reattached({ 100: '1000', 101: '1001' }), {
      type: 'EXECUTOR_REATTACHED',
      key: 'f1/t1',
    });
    expect(step.effects).toEqual([
      { kind: 'sendToExecutor', executorId: 't1', message: { type: 'RECONNECT' } },
      { kind: 'scheduleReregistrationTimeout', key: 'f1/t1', delayMs: DEFAULT_REREGISTRATION_TIMEOUT_MS },
    ]);
  });

  it('sets no timeout for an executor with no task pid to tell (a Docker task)', () => {
    const cp = full('t1', { taskPid: undefined, taskStartTime: undefined });
    const step = route(reattached({ 100: '1000' }, cp), { type: 'EXECUTOR_REATTACHED', key: 'f1/t1' });
    expect(step.effects.map((e) => e.kind)).toEqual(['sendToExecutor']);
  });

  it('kills an executor that did not REGISTER in time, with its task group, and spares one that did', () => {
    const state = reattached({ 100: '1000', 101: '1001' });
    const late = route(state, { type: 'REREGISTRATION_TIMEOUT', key: 'f1/t1' });
    expect(late.effects.filter((e) => e.kind === 'signalProcessGroup')).toEqual([
      { kind: 'signalProcessGroup', pgid: 100, signal: 'SIGKILL' },
      { kind: 'signalProcessGroup', pgid: 101, signal: 'SIGKILL' },
    ]);
    const registered = route(state, {
      type: 'EXECUTOR_MESSAGE',
      now: 5,
      msg: { type: 'REGISTER', executorId: 't1', frameworkId: 'f1', taskId: 't1', pid: 101 },
    }).state;
    expect(route(registered, { type: 'REREGISTRATION_TIMEOUT', key: 'f1/t1' }).effects).toEqual([]);
  });
});
