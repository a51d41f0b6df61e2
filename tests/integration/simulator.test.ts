import { describe, expect, it } from 'vitest';
import { startMaster } from '../../actors/master/index.js';
import { startSimulator } from '../../actors/simulator/index.js';
import { silentLogger } from '../../bus/index.js';
import { type LoadRun, startLoad } from '../../frameworks/load/index.js';
import { Operator } from '../../frameworks/sdk/index.js';
import { subjects as makeSubjects, resources as R, TaskState } from '../../protocol/index.js';
import type { TestNats } from '../support/nats.js';
import { testScope } from '../support/scope.js';

const scope = testScope();

async function cluster(
  agents: number,
  opts: { durationMs?: number; heartbeatS?: number; maxCompleted?: number; requestInbox?: string } = {},
) {
  const nats = await scope.startNats();
  const subjects = makeSubjects(nats.prefix);
  let master = await startMaster({
    bus: await nats.bus('master'),
    subjects,
    log: silentLogger,
    config: {
      allocationIntervalMs: 100,
      agentPingTimeoutSeconds: opts.heartbeatS ?? 5,
      ...(opts.maxCompleted ? { maxCompletedTasksPerFramework: opts.maxCompleted } : {}),
    },
  });
  scope.defer(() => master.stop());
  const sim = await startSimulator({
    bus: await nats.bus('sim'),
    subjects,
    agents,
    resources: R.parseResources('cpus:4;mem:4096'),
    taskDurationMs: opts.durationMs ?? 0,
    statusRetryMs: 1000,
    ...(opts.requestInbox !== undefined ? { requestInbox: opts.requestInbox } : {}),
  });
  scope.defer(() => sim.stop());
  const restartMaster = async () => {
    await master.stop();
    master = await startMaster({
      bus: await nats.bus('master2'),
      subjects,
      log: silentLogger,
      config: { allocationIntervalMs: 100, agentPingTimeoutSeconds: opts.heartbeatS ?? 5 },
    });
  };
  return { nats, subjects, sim, master: () => master, restartMaster };
}

async function load(
  nats: TestNats,
  prefix: string,
  opts: { frameworks: number; tasks: number; duration?: number | 'forever' },
): Promise<LoadRun> {
  const run = await startLoad({
    bus: await nats.bus('load'),
    prefix,
    frameworks: opts.frameworks,
    tasks: opts.tasks,
    taskResources: R.parseResources('cpus:0.5;mem:64'),
    taskDurationMs: opts.duration,
  });
  scope.defer(() => run.stop());
  return run;
}

describe('simulated agents against a real master', () => {
  it('register many agents on one connection and keep them active by heartbeating', async () => {
    const { sim, master } = await cluster(200, { heartbeatS: 1 });
    await sim.whenRegistered(200, 20_000);
    const before = sim.stats().heartbeats;
    // Heartbeats are spread over the interval: a second and a half sends about one per agent.
    await new Promise((r) => setTimeout(r, 1500));
    expect(sim.stats().heartbeats - before).toBeGreaterThanOrEqual(150);
    const view = master().state();
    expect(view.agents).toHaveLength(200);
    expect(view.agents.every((a) => a.status === 'ACTIVE')).toBe(true);
    expect(new Set(view.agents.map((a) => a.id))).toEqual(new Set(sim.agentIds));
  });

  it('run every launched task to TASK_FINISHED with each update acknowledged', async () => {
    const { nats, sim, subjects, master } = await cluster(20);
    await sim.whenRegistered();
    const run = await load(nats, subjects.prefix, { frameworks: 3, tasks: 600 });
    const s = await run.until(run.done, 30_000);
    expect(s).toMatchObject({ finished: 600, failed: 0, terminalAcked: 600, ackErrors: 0 });
    expect(run.latencies.count).toBe(600);
    // The agents forgot every task once its terminal update was acknowledged.
    await expect.poll(() => sim.stats().terminalAcked, { timeout: 10_000 }).toBe(600);
    expect(sim.stats().running).toBe(0);
    // No resources stay charged on the master.
    await expect
      .poll(
        () =>
          master()
            .state()
            .agents.every((a) => R.isEmpty(a.used)),
        { timeout: 10_000 },
      )
      .toBe(true);
  });

  it('get every terminal update acknowledged even when more tasks end than the master keeps completed', async () => {
    // The master keeps 10 completed tasks per framework, and 300 end at once: a terminal task
    // must stay known until its update is acknowledged, or the ack is refused and the agent
    // resends forever.
    const { nats, sim, subjects } = await cluster(10, { maxCompleted: 10 });
    await sim.whenRegistered();
    const run = await load(nats, subjects.prefix, { frameworks: 1, tasks: 300 });
    const s = await run.until(run.done, 30_000);
    expect(s).toMatchObject({ finished: 300, terminalAcked: 300, ackErrors: 0 });
    await expect.poll(() => sim.stats().terminalAcked, { timeout: 10_000 }).toBe(300);
  });

  for (const via of ['nats.js request()', 'one reply subscription (requestInbox)'])
    it(`re-register with their running tasks after a master restart, and finish them there: REGISTERs through ${via}`, async () => {
      const { nats, sim, subjects, master, restartMaster } = await cluster(5, {
        heartbeatS: 1,
        ...(via.includes('requestInbox') ? { requestInbox: '_INBOX' } : {}),
      });
      await sim.whenRegistered();
      const run = await load(nats, subjects.prefix, { frameworks: 1, tasks: 10, duration: 8000 });
      await run.until((s) => s.running === 10, 20_000);
      await restartMaster();
      // The new master does not know the agents: their next heartbeat is answered REREGISTER,
      // and they come back with the tasks they run.
      await expect
        .poll(
          () =>
            master()
              .state()
              .tasks.filter((t) => t.state === TaskState.RUNNING).length,
          {
            timeout: 20_000,
            interval: 100,
          },
        )
        .toBe(10);
      await expect.poll(() => master().state().agents.length, { timeout: 10_000 }).toBe(5);
      const s = await run.until(run.done, 30_000);
      expect(s).toMatchObject({ finished: 10, failed: 0, terminalAcked: 10 });
    });

  it('answer KILL with TASK_KILLED, through the master', async () => {
    const { nats, sim, subjects } = await cluster(2);
    await sim.whenRegistered();
    const run = await load(nats, subjects.prefix, { frameworks: 1, tasks: 4, duration: 'forever' });
    await run.until((s) => s.running === 4, 20_000);
    const bus = await nats.bus('op');
    const op = await Operator.connect({ nats: bus, prefix: subjects.prefix });
    const tasks = await op.tasks();
    expect(tasks.filter((t) => t.state === TaskState.RUNNING)).toHaveLength(4);
    for (const t of tasks) await op.killTask(t.taskId, t.frameworkId);
    const s = await run.until((x) => x.failed === 4, 20_000);
    expect(s.finished).toBe(0);
    expect(sim.stats().running).toBe(0);
  });
});
