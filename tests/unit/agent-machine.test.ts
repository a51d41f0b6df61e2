import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import {
  type AgentEvent,
  agentMachine,
  createAgentContext,
  type RegistrationRequest,
} from '../../actors/agent/index.js';
import { RemoteError } from '../../bus/index.js';
import {
  AgentCapability,
  ErrorCode,
  FrameworkInfo,
  MasterToAgent,
  type MasterToAgentInput,
  type Registered,
  taskDigest,
} from '../../protocol/index.js';

const agentId = 'a-1';

/** Calls made through the injected effects, in order. */
type Call = { effect: string; [k: string]: unknown };

function start(register: (input: RegistrationRequest) => Promise<Registered>) {
  const clock = new SimulatedClock();
  const calls: Call[] = [];
  const registrations: { at: number; input: RegistrationRequest }[] = [];
  const machine = agentMachine.provide({
    actors: {
      register: fromPromise<Registered, RegistrationRequest>(({ input }) => {
        registrations.push({ at: clock.now(), input });
        return register(input);
      }),
    },
    actions: {
      sendToMaster: (_, p) => void calls.push({ effect: 'sendToMaster', ...p }),
      sendToExecutor: (_, p) => void calls.push({ effect: 'sendToExecutor', ...p }),
      spawnExecutor: (_, p) => void calls.push({ effect: 'spawnExecutor', ...p }),
      signalProcessGroup: (_, p) => void calls.push({ effect: 'signalProcessGroup', ...p }),
      warn: (_, p) => void calls.push({ effect: 'warn', ...p }),
      checkpoint: () => {},
    },
  });
  const context = createAgentContext(
    { id: agentId, hostname: 'h', resources: [], attributes: {}, version: '0.1.0' },
    {
      workDir: '/work',
      statusUpdateRetryMs: 2000,
      statusUpdateRetryCapMs: 60_000,
      defaultKillGracePeriodSeconds: 3,
      registrationBackoff: { baseMs: 100, capMs: 300 },
    },
  );
  const actor = createActor(machine, { input: context, clock }).start();
  let n = 0;
  return {
    actor,
    clock,
    calls,
    registrations,
    send: (e: AgentEvent) => actor.send(e),
    master: (msg: MasterToAgentInput) =>
      actor.send({
        type: 'MASTER_MESSAGE',
        now: clock.now(),
        uuid: `uuid-${++n}`,
        msg: MasterToAgent.parse(msg),
      }),
    /** advance moves simulated time in small steps, letting promises settle in between. */
    async advance(ms: number, step = 10) {
      for (let t = 0; t < ms; t += step) {
        clock.increment(step);
        await settle();
      }
    },
    sent: (type: string) =>
      calls.filter((c) => c.effect === 'sendToMaster' && (c.message as { type: string }).type === type),
  };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};
const accepted =
  (heartbeatIntervalSeconds = 1) =>
  () =>
    Promise.resolve({ agentId, masterId: 'm1', heartbeatIntervalSeconds });
const refused = () => Promise.reject(new Error('no answer'));

/** runTask has the master launch task t1 of framework f1, and its executor report it RUNNING. */
function runTask(m: ReturnType<typeof start>) {
  m.master({
    type: 'RUN_TASK',
    framework: FrameworkInfo.parse({ id: 'f1', name: 'f' }),
    task: { taskId: 't1', name: 't1', agentId, resources: [], command: { value: 'true' } },
  });
  m.send({
    type: 'EXECUTOR_MESSAGE',
    now: 1,
    msg: {
      type: 'STATUS_UPDATE',
      executorId: 't1',
      frameworkId: 'f1',
      status: { taskId: 't1', state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: 'u1', timestamp: 1 },
    },
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the agent actor', () => {
  it('backs off a failing registration by a random draw from [0, base * 2^n], capped', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const m = start(refused);
    await settle();
    await m.advance(700);
    // delays: .5 * 100 = 50, .5 * 200 = 100, .5 * 400 -> cap 300 -> 150, then 150 ...
    expect(m.registrations.map((r) => r.at)).toEqual([0, 50, 150, 300, 450, 600]);
    expect(m.actor.getSnapshot().value).toBe('backoff');
    expect(m.calls.filter((c) => c.effect === 'warn')).toHaveLength(6);
  });

  it('heartbeats every interval the master gave once registered', async () => {
    const m = start(accepted(1));
    await settle();
    expect(m.actor.getSnapshot().value).toEqual({ registered: 'beating' });
    await m.advance(3500, 100);
    expect(m.sent('HEARTBEAT')).toHaveLength(3);
  });

  it('registers again on REREGISTER, reporting its tasks, and forwards unacknowledged updates again', async () => {
    const m = start(accepted(15));
    await settle();
    runTask(m);
    expect(m.sent('STATUS_UPDATE')).toHaveLength(1);
    m.master({ type: 'REREGISTER' });
    await settle();
    expect(m.registrations).toHaveLength(2);
    expect(m.registrations[1].input.tasks).toMatchObject([
      { frameworkId: 'f1', task: { taskId: 't1' }, status: { state: 'TASK_RUNNING' } },
    ]);
    expect(m.actor.getSnapshot().value).toEqual({ registered: 'beating' });
    expect(m.sent('STATUS_UPDATE')).toHaveLength(2);
  });

  it('re-registers with a digest of its running tasks to a master that takes one, and in full when it has no copy', async () => {
    // The master lists TASK_DIGEST; after a failover the new one has no copy of this agent's tasks.
    let digests = 0;
    const m = start(async (input) => {
      if (input.tasksDigest) {
        digests++;
        throw new RemoteError('no copy of its tasks matches', ErrorCode.DIGEST_MISMATCH);
      }
      return {
        agentId,
        masterId: 'm1',
        heartbeatIntervalSeconds: 15,
        capabilities: [AgentCapability.TASK_DIGEST],
      };
    });
    await settle();
    // The first registration always lists the tasks.
    expect(m.registrations[0].input.tasksDigest).toBeUndefined();
    runTask(m);
    m.master({ type: 'REREGISTER' });
    await settle();
    // Digest first: the running task goes as a digest, not in the list...
    const [, digested, full] = m.registrations;
    expect(digested.input.tasks).toEqual([]);
    expect(digested.input.frameworks).toEqual([]);
    expect(digested.input.tasksDigest).toEqual(
      taskDigest([{ frameworkId: 'f1', task: full.input.tasks[0].task, status: full.input.tasks[0].status }]),
    );
    // ...then, refused, at once in full (no backoff, no warning), and it is registered.
    expect(full.at).toBe(digested.at);
    expect(full.input.tasksDigest).toBeUndefined();
    expect(full.input.tasks).toMatchObject([{ frameworkId: 'f1', task: { taskId: 't1' } }]);
    expect(digests).toBe(1);
    expect(m.calls.filter((c) => c.effect === 'warn')).toHaveLength(0);
    expect(m.actor.getSnapshot().value).toEqual({ registered: 'beating' });
  });

  it('resends the head on its timer until the master acknowledges it', async () => {
    const m = start(accepted(3600));
    await settle();
    runTask(m);
    await m.advance(6100, 100); // resends at 2 s and 2 + 4 = 6 s
    expect(m.sent('STATUS_UPDATE')).toHaveLength(3);
    m.master({ type: 'STATUS_UPDATE_ACK', frameworkId: 'f1', taskId: 't1', uuid: 'u1' });
    await m.advance(20_000, 500);
    expect(m.sent('STATUS_UPDATE')).toHaveLength(3);
  });

  describe('stopping', () => {
    async function withTask() {
      const m = start(accepted(3600));
      await settle();
      m.master({
        type: 'RUN_TASK',
        framework: FrameworkInfo.parse({ id: 'f1', name: 'f' }),
        task: {
          taskId: 't1',
          name: 't1',
          agentId,
          resources: [],
          command: { value: 'sleep 60' },
          killPolicy: { gracePeriodSeconds: 1 },
        },
      });
      m.send({ type: 'EXECUTOR_SPAWNED', key: 'f1/t1', pid: 4242 });
      m.send({
        type: 'EXECUTOR_MESSAGE',
        now: 1,
        msg: { type: 'REGISTER', executorId: 't1', frameworkId: 'f1', taskId: 't1', pid: 4343 },
      });
      return m;
    }

    it('kills every task, waits for its executor, flushes the final update and unregisters', async () => {
      const m = await withTask();
      m.send({ type: 'STOP' });
      expect(m.calls.filter((c) => c.effect === 'sendToExecutor')).toEqual([
        { effect: 'sendToExecutor', executorId: 't1', message: { type: 'KILL', gracePeriodSeconds: 1 } },
      ]);
      expect(m.actor.getSnapshot().value).toEqual({ stopping: 'draining' });
      m.send({
        type: 'EXECUTOR_MESSAGE',
        now: 2,
        msg: {
          type: 'STATUS_UPDATE',
          executorId: 't1',
          frameworkId: 'f1',
          status: { taskId: 't1', state: 'TASK_KILLED', source: 'SOURCE_EXECUTOR', uuid: 'u9', timestamp: 2 },
        },
      });
      m.send({ type: 'EXECUTOR_EXITED', key: 'f1/t1', code: 0, signal: null, now: 3, uuid: 'x' });
      expect(m.actor.getSnapshot().value).toEqual({ stopping: 'flushing' });
      m.master({ type: 'STATUS_UPDATE_ACK', frameworkId: 'f1', taskId: 't1', uuid: 'u9' });
      expect(m.sent('UNREGISTER')).toHaveLength(1);
      expect(m.actor.getSnapshot().status).toBe('done');
    });

    it('SIGKILLs executor and task groups 2 s past the grace period, and flushes for at most 1 s', async () => {
      const m = await withTask();
      m.send({ type: 'STOP' });
      await m.advance(2900, 100);
      expect(m.calls.filter((c) => c.effect === 'signalProcessGroup')).toEqual([]);
      await m.advance(100);
      expect(m.calls.filter((c) => c.effect === 'signalProcessGroup')).toEqual(
        expect.arrayContaining([
          { effect: 'signalProcessGroup', pgid: 4242, signal: 'SIGKILL' },
          { effect: 'signalProcessGroup', pgid: 4343, signal: 'SIGKILL' },
        ]),
      );
      m.send({ type: 'EXECUTOR_EXITED', key: 'f1/t1', code: null, signal: 'SIGKILL', now: 3, uuid: 'x' });
      expect(m.actor.getSnapshot().value).toEqual({ stopping: 'flushing' });
      await m.advance(1000, 100);
      expect(m.sent('UNREGISTER')).toHaveLength(1);
      expect(m.actor.getSnapshot().status).toBe('done');
    });

    it("stops on the master's SHUTDOWN and ignores RUN_TASK meanwhile", async () => {
      const m = await withTask();
      m.master({ type: 'SHUTDOWN', message: 'agent was removed' });
      expect(m.actor.getSnapshot().value).toEqual({ stopping: 'draining' });
      m.master({
        type: 'RUN_TASK',
        framework: FrameworkInfo.parse({ id: 'f1', name: 'f' }),
        task: { taskId: 't2', name: 't2', agentId, resources: [], command: { value: 'true' } },
      });
      expect(m.calls.filter((c) => c.effect === 'spawnExecutor')).toHaveLength(1);
    });

    it('stops at once with nothing running, and unregisters only from a master it reached', async () => {
      const m = start(refused);
      await settle();
      m.send({ type: 'STOP' });
      expect(m.actor.getSnapshot().status).toBe('done');
      expect(m.sent('UNREGISTER')).toHaveLength(0);
    });
  });
});
