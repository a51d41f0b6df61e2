import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../actors/simulator/index.js';
import { subjects as makeSubjects, resources as R } from '../../protocol/index.js';
import { waitFor } from '../support/processes.js';
import { testScope } from '../support/scope.js';

const scope = testScope();

describe("a master's heap after a registration storm", () => {
  it('is collected once the storm is over, and not while agents only heartbeat', async () => {
    const nats = await scope.startNats();
    let collections = 0;
    await scope.startMaster(nats, {
      heapSettle: { minRegisters: 40, quietMs: 300, collect: () => collections++ },
    });
    const sim = await startSimulator({
      bus: await nats.bus('sim'),
      subjects: makeSubjects(nats.prefix),
      agents: 50,
      resources: R.parseResources('cpus:4;mem:4096'),
    });
    scope.defer(() => sim.stop());
    await sim.whenRegistered(50, 20_000);
    await waitFor(() => collections === 1, 10_000, 'the collection after the storm');
    // Heartbeats are no storm: nothing more is collected.
    await new Promise((r) => setTimeout(r, 1500));
    expect(collections).toBe(1);
  });

  it('is left alone after fewer REGISTERs than a storm', async () => {
    const nats = await scope.startNats();
    let collections = 0;
    await scope.startMaster(nats, {
      heapSettle: { minRegisters: 40, quietMs: 300, collect: () => collections++ },
    });
    const sim = await startSimulator({
      bus: await nats.bus('sim'),
      subjects: makeSubjects(nats.prefix),
      agents: 10,
      resources: R.parseResources('cpus:4;mem:4096'),
    });
    scope.defer(() => sim.stop());
    await sim.whenRegistered(10, 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(collections).toBe(0);
  });
});
