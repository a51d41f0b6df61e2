import { describe, expect, it } from 'vitest';
import {
  type AgentContext,
  type AgentEffect,
  type AgentEvent,
  createAgentContext,
  registrationRequest,
  route,
} from '../../actors/agent/index.js';
import {
  FrameworkInfo,
  MasterToAgent,
  type MasterToAgentInput,
  type TaskStatus,
} from '../../protocol/index.js';

const agentId = 'a-1';
const fw = FrameworkInfo.parse({ id: 'f1', name: 'fw' });

function fresh(connected = true): AgentContext {
  const c = createAgentContext(
    { id: agentId, hostname: 'h', resources: [], attributes: {}, version: '0.1.0' },
    {
      workDir: '/work',
      statusUpdateRetryMs: 2000,
      statusUpdateRetryCapMs: 60_000,
      defaultKillGracePeriodSeconds: 3,
      registrationBackoff: { baseMs: 1000, capMs: 60_000 },
    },
  );
  return { ...c, connected };
}

/** Agent replays events through the pure routing table, keeping every effect. */
class Agent {
  effects: AgentEffect[] = [];
  private n = 0;
  constructor(public state: AgentContext = fresh()) {}
  send(e: AgentEvent): AgentEffect[] {
    const step = route(this.state, e);
    this.state = step.state;
    this.effects.push(...step.effects);
    return step.effects;
  }
  master(msg: MasterToAgentInput): AgentEffect[] {
    return this.send({
      type: 'MASTER_MESSAGE',
      now: 1000,
      uuid: `00000000-0000-0000-0000-00000000000${++this.n}`,
      msg: MasterToAgent.parse(msg),
    });
  }
  run(taskId: string, extra: Record<string, unknown> = {}, framework = fw): AgentEffect[] {
    return this.master({
      type: 'RUN_TASK',
      framework,
      task: {
        taskId,
        name: taskId,
        agentId,
        resources: [],
        command: { value: 'true', shell: true, env: {} },
        ...extra,
      },
    });
  }
  update(taskId: string, uuid: string, state: TaskStatus['state'], frameworkId = 'f1'): AgentEffect[] {
    const executorId = this.state.tasks[`${frameworkId}/${taskId}`]?.executorId ?? taskId;
    return this.send({
      type: 'EXECUTOR_MESSAGE',
      now: 1000,
      msg: {
        type: 'STATUS_UPDATE',
        executorId,
        frameworkId,
        status: { taskId, state, source: 'SOURCE_EXECUTOR', uuid, timestamp: 5 },
      },
    });
  }
  exited(taskId: string, code: number | null, signal: string | null = null): AgentEffect[] {
    return this.send({
      type: 'EXECUTOR_EXITED',
      key: `f1/${taskId}`,
      code,
      signal,
      now: 2000,
      uuid: 'agent-uuid',
    });
  }
}

const forwarded = (effects: AgentEffect[]) =>
  effects.flatMap((e) =>
    e.kind === 'sendToMaster' && e.message.type === 'STATUS_UPDATE' ? [e.message.update.status] : [],
  );

describe('the agent running tasks', () => {
  it('asks for an executor in a fresh sandbox under the work dir on RUN_TASK', () => {
    const a = new Agent();
    const [spawn] = a.run('t1', { killPolicy: { gracePeriodSeconds: 7 } });
    expect(spawn).toMatchObject({
      kind: 'spawnExecutor',
      launch: {
        key: 'f1/t1',
        executorId: 't1',
        sandbox: expect.stringMatching(/^\/work\/frameworks\/f1\/executors\/t1\/runs\/[0-9a-f]{32}$/),
        file: {
          frameworkId: 'f1',
          agentId,
          executorId: 't1',
          task: { taskId: 't1' },
          killPolicy: { gracePeriodSeconds: 7 },
        },
      },
    });
    expect(a.state.tasks['f1/t1'].status.state).toBe('TASK_STAGING');
  });

  it('ignores a duplicate RUN_TASK with a warning', () => {
    const a = new Agent();
    a.run('t1');
    const before = a.state;
    expect(a.run('t1')).toMatchObject([{ kind: 'warn', message: expect.stringMatching(/duplicate/) }]);
    expect(a.state).toBe(before);
  });

  it('ignores RUN_TASK while stopping and RUN_TASK meant for another agent', () => {
    const a = new Agent({ ...fresh(), stopping: true });
    expect(a.run('t1')).toMatchObject([{ kind: 'warn', message: expect.stringMatching(/stopping/) }]);
    const b = new Agent();
    expect(b.run('t1', { agentId: 'a-other' })).toMatchObject([{ kind: 'warn' }]);
    expect(b.state.tasks).toEqual({});
  });

  it('gives a live task of another framework with the same id an executor id of its own', () => {
    const a = new Agent();
    a.run('web');
    const [spawn] = a.run('web', {}, FrameworkInfo.parse({ id: 'f2', name: 'other' }));
    expect(spawn.kind === 'spawnExecutor' && spawn.launch.executorId).toMatch(/^e-[0-9a-f]{32}$/);
  });

  it('fails the task from the agent when the executor cannot be launched', () => {
    const a = new Agent();
    a.run('t1');
    const effects = a.send({
      type: 'EXECUTOR_LAUNCH_FAILED',
      key: 'f1/t1',
      message: 'spawn /x ENOENT',
      now: 9,
      uuid: 'u-launch',
    });
    expect(forwarded(effects)).toMatchObject([
      {
        state: 'TASK_FAILED',
        reason: 'REASON_CONTAINER_LAUNCH_FAILED',
        source: 'SOURCE_AGENT',
        uuid: 'u-launch',
        agentId,
        timestamp: 9,
      },
    ]);
  });
});

describe('the agent relaying status updates', () => {
  it('ACKs the executor, stamps its agent id and forwards the head at once, arming a resend', () => {
    const a = new Agent();
    a.run('t1');
    const effects = a.update('t1', 'u1', 'TASK_STARTING');
    expect(effects).toEqual([
      {
        kind: 'sendToMaster',
        message: {
          type: 'STATUS_UPDATE',
          update: {
            frameworkId: 'f1',
            status: expect.objectContaining({ uuid: 'u1', agentId, executorId: 't1' }),
          },
        },
      },
      { kind: 'scheduleRetry', key: 'f1/t1', uuid: 'u1', delayMs: 2000 },
      { kind: 'sendToExecutor', executorId: 't1', message: { type: 'ACK', uuid: 'u1' } },
    ]);
  });

  it('holds later updates until the head is acknowledged, and ignores an ack of anything else', () => {
    const a = new Agent();
    a.run('t1');
    a.update('t1', 'u1', 'TASK_STARTING');
    expect(forwarded(a.update('t1', 'u2', 'TASK_RUNNING'))).toEqual([]);
    expect(forwarded(a.update('t1', 'u3', 'TASK_FINISHED'))).toEqual([]);
    expect(a.master({ type: 'STATUS_UPDATE_ACK', frameworkId: 'f1', taskId: 't1', uuid: 'u2' })).toEqual([]);
    expect(
      forwarded(a.master({ type: 'STATUS_UPDATE_ACK', frameworkId: 'f1', taskId: 't1', uuid: 'u1' })).map(
        (s) => s.uuid,
      ),
    ).toEqual(['u2']);
    expect(
      forwarded(a.master({ type: 'STATUS_UPDATE_ACK', frameworkId: 'f1', taskId: 't1', uuid: 'u2' })).map(
        (s) => s.uuid,
      ),
    ).toEqual(['u3']);
  });

  it('drops a resent duplicate but still ACKs it', () => {
    const a = new Agent();
    a.run('t1');
    a.update('t1', 'u1', 'TASK_STARTING');
    expect(a.update('t1', 'u1', 'TASK_STARTING')).toEqual([
      { kind: 'sendToExecutor', executorId: 't1', message: { type: 'ACK', uuid: 'u1' } },
    ]);
  });

  it('resends an unacknowledged head after 2 s, 4 s, 8 s ... up to 60 s', () => {
    const a = new Agent();
    a.run('t1');
    a.update('t1', 'u1', 'TASK_STARTING');
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      for (const e of a.send({ type: 'RETRY_UPDATE', key: 'f1/t1', uuid: 'u1' }))
        if (e.kind === 'scheduleRetry') delays.push(e.delayMs);
    }
    expect(delays).toEqual([4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    // A stale timer of an update already acknowledged does nothing.
    a.master({ type: 'STATUS_UPDATE_ACK', frameworkId: 'f1', taskId: 't1', uuid: 'u1' });
    expect(a.send({ type: 'RETRY_UPDATE', key: 'f1/t1', uuid: 'u1' })).toEqual([]);
  });

  it('queues but does not forward while no master is there', () => {
    const a = new Agent(fresh(false));
    a.run('t1');
    expect(forwarded(a.update('t1', 'u1', 'TASK_STARTING'))).toEqual([]);
    expect(a.send({ type: 'RETRY_UPDATE', key: 'f1/t1', uuid: 'u1' })).toEqual([]);
  });

  it('forgets a task once its executor is gone and its terminal update acknowledged', () => {
    const a = new Agent();
    a.run('t1');
    a.update('t1', 'u1', 'TASK_FINISHED');
    a.exited('t1', 0);
    expect(a.state.tasks['f1/t1']).toBeDefined();
    a.master({ type: 'STATUS_UPDATE_ACK', frameworkId: 'f1', taskId: 't1', uuid: 'u1' });
    expect(a.state.tasks).toEqual({});
    expect(a.state.updates).toEqual({});
    expect(a.state.frameworks).toEqual({});
  });

  it('tells an executor it does not know to shut down', () => {
    const a = new Agent();
    expect(a.update('ghost', 'u1', 'TASK_RUNNING')).toMatchObject([
      { kind: 'warn' },
      { kind: 'sendToExecutor', executorId: 'ghost', message: { type: 'SHUTDOWN' } },
    ]);
  });

  it('reports every task it holds, with its latest status and framework, when registering', () => {
    const a = new Agent();
    a.run('t1');
    a.update('t1', 'u1', 'TASK_RUNNING');
    expect(registrationRequest(a.state)).toMatchObject({
      agent: { id: agentId },
      tasks: [{ frameworkId: 'f1', task: { taskId: 't1' }, status: { state: 'TASK_RUNNING', uuid: 'u1' } }],
      frameworks: [{ id: 'f1' }],
    });
  });
});

describe('the agent killing tasks', () => {
  const registered = () => {
    const a = new Agent();
    a.run('t1', { killPolicy: { gracePeriodSeconds: 5 } });
    a.send({ type: 'EXECUTOR_SPAWNED', key: 'f1/t1', pid: 4242 });
    a.send({
      type: 'EXECUTOR_MESSAGE',
      now: 1,
      msg: { type: 'REGISTER', executorId: 't1', frameworkId: 'f1', taskId: 't1', pid: 4343 },
    });
    return a;
  };

  it("tells a registered executor to KILL with the kill's grace, else the task's, and SIGKILLs 2 s past it", () => {
    const a = registered();
    expect(
      a.master({ type: 'KILL_TASK', frameworkId: 'f1', taskId: 't1', killPolicy: { gracePeriodSeconds: 1 } }),
    ).toEqual([
      { kind: 'sendToExecutor', executorId: 't1', message: { type: 'KILL', gracePeriodSeconds: 1 } },
      { kind: 'scheduleKillEscalation', key: 'f1/t1', delayMs: 3000 },
    ]);
    const b = registered();
    expect(b.master({ type: 'KILL_TASK', frameworkId: 'f1', taskId: 't1' })[0]).toMatchObject({
      message: { type: 'KILL', gracePeriodSeconds: 5 },
    });
    expect(b.send({ type: 'KILL_ESCALATION', key: 'f1/t1' })).toEqual([
      { kind: 'signalProcessGroup', pgid: 4242, signal: 'SIGKILL' },
      { kind: 'signalProcessGroup', pgid: 4343, signal: 'SIGKILL' },
    ]);
  });

  it('SIGTERMs an executor that has not spoken yet and reports TASK_KILLED itself when it exits', () => {
    const a = new Agent();
    a.run('t1');
    a.send({ type: 'EXECUTOR_SPAWNED', key: 'f1/t1', pid: 4242 });
    expect(a.master({ type: 'KILL_TASK', frameworkId: 'f1', taskId: 't1' })).toEqual([
      { kind: 'signalProcessGroup', pgid: 4242, signal: 'SIGTERM' },
      { kind: 'scheduleKillEscalation', key: 'f1/t1', delayMs: 5000 },
    ]);
    expect(forwarded(a.exited('t1', null, 'SIGTERM'))).toMatchObject([
      { state: 'TASK_KILLED', source: 'SOURCE_AGENT', uuid: 'agent-uuid' },
    ]);
  });

  it('answers the kill of an unknown task with TASK_LOST, REASON_TASK_UNKNOWN, as an update to acknowledge', () => {
    const a = new Agent();
    const effects = a.master({ type: 'KILL_TASK', frameworkId: 'f1', taskId: 'nope' });
    expect(forwarded(effects)).toMatchObject([
      { taskId: 'nope', state: 'TASK_LOST', reason: 'REASON_TASK_UNKNOWN', source: 'SOURCE_AGENT' },
    ]);
    expect(effects).toContainEqual(expect.objectContaining({ kind: 'scheduleRetry', key: 'f1/nope' }));
    const uuid = forwarded(effects)[0].uuid;
    a.master({ type: 'STATUS_UPDATE_ACK', frameworkId: 'f1', taskId: 'nope', uuid });
    expect(a.state.updates).toEqual({});
  });

  it('fails a task whose executor exits without a terminal update, and SIGKILLs what is left of the task', () => {
    const a = registered();
    a.update('t1', 'u1', 'TASK_RUNNING');
    const effects = a.exited('t1', 137);
    expect(effects).toContainEqual({ kind: 'signalProcessGroup', pgid: 4343, signal: 'SIGKILL' });
    a.master({ type: 'STATUS_UPDATE_ACK', frameworkId: 'f1', taskId: 't1', uuid: 'u1' });
    expect(forwarded(a.effects).at(-1)).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_EXECUTOR_TERMINATED',
      source: 'SOURCE_AGENT',
      message: 'Executor exited with status 137',
    });
  });

  it('leaves a task alone once it is terminal', () => {
    const a = registered();
    a.update('t1', 'u1', 'TASK_FINISHED');
    expect(a.master({ type: 'KILL_TASK', frameworkId: 'f1', taskId: 't1' })).toEqual([]);
  });

  it("kills only the framework's tasks on SHUTDOWN_FRAMEWORK", () => {
    const a = registered();
    a.run('t2', {}, FrameworkInfo.parse({ id: 'f2', name: 'other' }));
    a.send({ type: 'EXECUTOR_SPAWNED', key: 'f2/t2', pid: 5000 });
    const effects = a.master({ type: 'SHUTDOWN_FRAMEWORK', frameworkId: 'f1' });
    expect(effects.filter((e) => e.kind === 'sendToExecutor' || e.kind === 'signalProcessGroup')).toEqual([
      { kind: 'sendToExecutor', executorId: 't1', message: { type: 'KILL', gracePeriodSeconds: 5 } },
    ]);
  });
});
