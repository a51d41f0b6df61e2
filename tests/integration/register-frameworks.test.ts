import { describe, expect, it } from 'vitest';
import { startHaMaster } from '../../actors/master/index.js';
import { RegistryStore } from '../../actors/master/registry-store.js';
import { startSimulator } from '../../actors/simulator/index.js';
import { type NatsBus, silentLogger } from '../../bus/index.js';
import { FrameworkInfo, subjects as makeSubjects, resources as R } from '../../protocol/index.js';
import { waitFor } from '../support/processes.js';
import { testScope } from '../support/scope.js';
import { runningSeed } from '../support/sim.js';

const scope = testScope();

describe('a leader taking REGISTERs', () => {
  it('writes to the registry the frameworks an agent reports that it did not know, and keeps them', async () => {
    const nats = await scope.startNats();
    const prefix = `${nats.prefix}rf`;
    const subjects = makeSubjects(prefix);
    const bus = (await nats.bus('m-rf')) as NatsBus;
    const master = await startHaMaster({
      bus,
      nc: bus.nc,
      subjects,
      log: silentLogger,
      config: { masterId: 'm-rf', allocationIntervalMs: 100 },
    });
    scope.defer(() => master.stop());
    await master.elected();
    // Frameworks no scheduler ever subscribed: the master hears of them from the agents alone.
    const frameworks = ['fw-a', 'fw-b'].map((id) =>
      FrameworkInfo.parse({ id, name: id, failoverTimeoutSeconds: 600 }),
    );
    const sim = await startSimulator({
      bus: (await nats.bus('sim-rf')) as NatsBus,
      subjects,
      agents: 2,
      resources: R.parseResources('cpus:4;mem:4096'),
      idPrefix: 'rf',
      taskDurationMs: Number.POSITIVE_INFINITY,
      // Agent 0 reports fw-a; agent 1 reports fw-a (known by then, or not) and fw-b.
      seed: runningSeed((i) => frameworks.slice(0, i + 1)),
    });
    scope.defer(() => sim.stop());
    await sim.whenRegistered(2, 20_000);
    const reader = await RegistryStore.open({
      nc: ((await nats.bus('reader-rf')) as NatsBus).nc,
      subjects,
      replicas: 1,
      log: silentLogger,
    });
    await waitFor(async () => (await reader.load()).agents.size === 2, 10_000, 'both agents in the registry');
    const registry = await reader.load();
    expect([...registry.frameworks.keys()].sort()).toEqual(['fw-a', 'fw-b']);
    expect(registry.frameworks.get('fw-b')).toMatchObject({ id: 'fw-b', failoverTimeoutSeconds: 600 });
  });
});
