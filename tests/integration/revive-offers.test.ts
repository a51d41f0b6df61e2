import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../actors/simulator/index.js';
import { silentLogger } from '../../bus/index.js';
import { Scheduler } from '../../frameworks/sdk/index.js';
import { subjects as makeSubjects, type Offer, resources as R } from '../../protocol/index.js';
import { waitFor } from '../support/processes.js';
import { testScope } from '../support/scope.js';

const scope = testScope();

describe('offers after REVIVE', () => {
  it('come at once, not at the next allocation interval', async () => {
    const nats = await scope.startNats();
    const subjects = makeSubjects(nats.prefix);
    // An interval far longer than the test: any offer it sees was made because of a call.
    await scope.startMaster(nats, { config: { allocationIntervalMs: 600_000 } });
    const sim = await startSimulator({
      bus: await nats.bus('sim'),
      subjects,
      agents: 3,
      resources: R.parseResources('cpus:4;mem:4096'),
    });
    scope.defer(() => sim.stop());
    await sim.whenRegistered(3, 20_000);

    const offers: Offer[] = [];
    const scheduler = await Scheduler.start({
      nats: await nats.bus('framework'),
      prefix: nats.prefix,
      framework: { name: 'reviver', roles: ['*'] },
      log: silentLogger,
      handlers: { offers: (os) => void offers.push(...os) },
    });
    scope.defer(() => scheduler.teardown());
    await scheduler.subscribed();
    // SUBSCRIBE itself asks for an allocation run: the three agents are offered.
    await waitFor(() => offers.length === 3, 10_000, 'the offers after SUBSCRIBE');

    await scheduler.suppress();
    await scheduler.decline(
      offers.splice(0).map((o) => o.id),
      { refuseSeconds: 3600 },
    );
    // Declined for an hour and suppressed: nothing more comes.
    await new Promise((r) => setTimeout(r, 300));
    expect(offers).toEqual([]);

    const revivedAt = performance.now();
    await scheduler.revive();
    await waitFor(() => offers.length === 3, 10_000, 'the offers after REVIVE');
    // Well inside the 600 s interval: REVIVE cleared the filters and triggered a run.
    expect(performance.now() - revivedAt).toBeLessThan(10_000);
    expect(new Set(offers.map((o) => o.agentId)).size).toBe(3);
  }, 60_000);
});
