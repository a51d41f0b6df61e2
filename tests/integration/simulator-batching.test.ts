import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../actors/simulator/index.js';
import { RemoteError } from '../../bus/index.js';
import { startLoad } from '../../frameworks/load/index.js';
import { Scheduler } from '../../frameworks/sdk/index.js';
import {
  MasterToBatchingAgent,
  subjects as makeSubjects,
  resources as R,
  type TaskStatus,
} from '../../protocol/index.js';
import { testScope } from '../support/scope.js';

const scope = testScope();

/** A master, simulated agents (batching or not) and a tap on every control message the master sends. */
async function cluster(agents: number, batching: boolean) {
  const nats = await scope.startNats();
  const subjects = makeSubjects(nats.prefix);
  const master = await scope.startMaster(nats, { config: { allocationIntervalMs: 100 } });
  const seen: string[] = [];
  const tap = await nats.bus('tap');
  tap.listen(subjects.agentAll(), MasterToBatchingAgent, (msg) => seen.push(msg.type));
  await tap.flush();
  const sim = await startSimulator({
    bus: await nats.bus('sim'),
    subjects,
    agents,
    resources: R.parseResources('cpus:4;mem:4096'),
    batching,
    statusRetryMs: 1000,
  });
  scope.defer(() => sim.stop());
  await sim.whenRegistered();
  return { nats, subjects, sim, seen, master };
}

describe('batched agent messages', () => {
  it('send one RUN_TASKS per ACCEPT and STATUS_UPDATE_ACKS to agents that declare BATCHING', async () => {
    const { nats, subjects, sim, seen } = await cluster(2, true);
    const run = await startLoad({
      bus: await nats.bus('load'),
      prefix: subjects.prefix,
      frameworks: 1,
      tasks: 40,
      taskResources: R.parseResources('cpus:0.1;mem:32'),
    });
    scope.defer(() => run.stop());
    const s = await run.until(run.done, 20_000);
    expect(s).toMatchObject({ finished: 40, terminalAcked: 40, ackErrors: 0 });
    expect(seen).toContain('RUN_TASKS');
    expect(seen).toContain('STATUS_UPDATE_ACKS');
    expect(seen).not.toContain('RUN_TASK');
    // 40 tasks went out in far fewer messages than one per task.
    expect(seen.filter((t) => t === 'RUN_TASKS').length).toBeLessThan(40);
    await expect.poll(() => sim.stats().terminalAcked, { timeout: 10_000 }).toBe(40);
  });

  it('keep the one-message-per-task protocol for agents that do not declare BATCHING', async () => {
    const { nats, subjects, sim, seen } = await cluster(2, false);
    const run = await startLoad({
      bus: await nats.bus('load'),
      prefix: subjects.prefix,
      frameworks: 1,
      tasks: 20,
      taskResources: R.parseResources('cpus:0.1;mem:32'),
    });
    scope.defer(() => run.stop());
    const s = await run.until(run.done, 20_000);
    expect(s).toMatchObject({ finished: 20, terminalAcked: 20, ackErrors: 0 });
    expect(seen.filter((t) => t === 'RUN_TASK')).toHaveLength(20);
    expect(seen.filter((t) => t === 'STATUS_UPDATE_ACK')).toHaveLength(40);
    expect(seen).not.toContain('RUN_TASKS');
    expect(seen).not.toContain('STATUS_UPDATE_ACKS');
    expect(sim.stats().terminalAcked).toBe(20);
  });

  it('refuse an ACKNOWLEDGE_BATCH with one bad ack and relay none of it', async () => {
    const { nats, subjects, sim, seen } = await cluster(1, true);
    const updates: TaskStatus[] = [];
    const scheduler = await Scheduler.start({
      nats: await nats.bus('fw'),
      prefix: subjects.prefix,
      framework: { name: 'acks' },
      autoAcknowledge: false,
      handlers: {
        update: (s) => void updates.push(s),
        offers: (offers) =>
          void scheduler.launch(offers[0], [
            {
              taskId: 'a1',
              name: 'a',
              resources: R.parseResources('cpus:0.1;mem:32'),
              command: { value: 'true' },
              labels: { 'mezzo.sim/duration-ms': 'forever' },
            },
          ]),
      },
    });
    scope.defer(() => scheduler.close());
    await expect.poll(() => updates.length, { timeout: 10_000 }).toBe(1);
    const [running] = updates;
    const good = { agentId: running.agentId as string, taskId: 'a1', uuid: running.uuid as string };
    const before = seen.length;
    const refused = scheduler.call({
      type: 'ACKNOWLEDGE_BATCH',
      acks: [good, { ...good, uuid: 'not-an-update' }],
    });
    await expect(refused).rejects.toThrow(RemoteError);
    await expect(refused).rejects.toThrow(/not-an-update/);
    await scheduler.flush();
    expect(seen.slice(before)).not.toContain('STATUS_UPDATE_ACKS');
    expect(sim.stats().acks).toBe(0);
    // The good ack alone goes through.
    await scheduler.call({ type: 'ACKNOWLEDGE_BATCH', acks: [good] });
    await expect.poll(() => sim.stats().acks, { timeout: 10_000 }).toBe(1);
  });
});
