import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RemoteError, silentLogger } from '../../bus/index.js';
import { Scheduler } from '../../frameworks/sdk/index.js';
import { isTerminal, resources as R, SchedulerCall, type TaskStatus } from '../../protocol/index.js';
import { waitFor } from '../support/processes.js';
import { type SecureCluster, startSecureCluster } from './auth-cluster.js';

describe('per-principal rate limits on master calls', () => {
  let cluster: SecureCluster;

  beforeAll(async () => {
    cluster = await startSecureCluster({ rateLimit: { ratePerSecond: 50, burst: 50 } });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('limits a framework flooding the master while another still gets offers and launches promptly', async () => {
    const floodCreds = await cluster.issue({
      kind: 'framework',
      name: 'flood',
      roles: ['a'],
      frameworkIds: ['fw-flood'],
    });
    const calmCreds = await cluster.issue({
      kind: 'framework',
      name: 'calm',
      roles: ['b'],
      frameworkIds: ['fw-calm'],
    });
    const flooder = await Scheduler.start({
      nats: await cluster.bus(floodCreds),
      framework: { id: 'fw-flood', name: 'flood', roles: ['a'] },
      log: silentLogger,
    });
    // The flooder gives its offers back for good first, so that the flood is its only effect.
    let declined = false;
    flooder.on('offers', async (offers) => {
      await flooder.decline(
        offers.map((o) => o.id),
        { refuseSeconds: 3600 },
      );
      declined = true;
    });
    await flooder.subscribed();
    await waitFor(() => declined, 15_000, 'the flooder to decline its first offers');
    await flooder.suppress();

    // The flood: batches of calls sent without waiting for each answer, for as long as the test runs.
    const floodBus = await cluster.bus(floodCreds, 'flood-raw');
    const codes = new Map<string, number>();
    let flooding = true;
    const flood = (async () => {
      while (flooding) {
        const batch = Array.from({ length: 200 }, () =>
          floodBus
            .request(
              cluster.subjects.scheduler('fw-flood'),
              SchedulerCall,
              { type: 'RECONCILE', tasks: [] },
              z.unknown(),
              {
                timeoutMs: 10_000,
              },
            )
            .then(
              () => 'OK',
              (err: unknown) => (err instanceof RemoteError ? err.code : 'OTHER'),
            ),
        );
        for (const code of await Promise.all(batch)) codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    })();
    const updates: TaskStatus[] = [];
    let launched = false;
    let elapsed = Number.POSITIVE_INFINITY;
    let calm: Scheduler | undefined;
    try {
      await waitFor(() => (codes.get('RATE_LIMITED') ?? 0) > 0, 15_000, 'the flood to be limited');

      const started = Date.now();
      const scheduler = await Scheduler.start({
        nats: await cluster.bus(calmCreds),
        framework: { id: 'fw-calm', name: 'calm', roles: ['b'] },
        log: silentLogger,
        handlers: { update: (s) => void updates.push(s) },
      });
      calm = scheduler;
      scheduler.on('offers', async (offers) => {
        if (launched) return;
        launched = true;
        await scheduler.launch(offers[0], [
          {
            taskId: 'calm-1',
            name: 'calm',
            resources: R.parseResources('cpus:0.1;mem:16'),
            command: { value: 'true' },
          },
        ]);
      });
      await scheduler.subscribed();
      await waitFor(() => updates.some((u) => isTerminal(u.state)), 15_000, 'the calm task to finish');
      elapsed = Date.now() - started;
    } finally {
      flooding = false;
      await flood;
    }

    expect(updates.find((u) => isTerminal(u.state))?.state).toBe('TASK_FINISHED');
    expect(elapsed).toBeLessThan(10_000);
    // Most of the flood was refused with RATE_LIMITED; what got through stayed near the limit.
    const limited = codes.get('RATE_LIMITED') ?? 0;
    const ok = codes.get('OK') ?? 0;
    expect(limited).toBeGreaterThan(ok);
    expect(codes.get('OTHER') ?? 0).toBe(0);
    await calm?.close();
    await flooder.close();
  });

  it('answers a limited call with a clear error that names the limit', async () => {
    const creds = await cluster.issue({
      kind: 'framework',
      name: 'burst',
      roles: ['c'],
      frameworkIds: ['fw-burst'],
    });
    const bus = await cluster.bus(creds);
    const answers = await Promise.all(
      Array.from({ length: 120 }, () =>
        bus
          .request(cluster.subjects.scheduler('fw-burst'), SchedulerCall, { type: 'HEARTBEAT' }, z.unknown())
          .then(
            () => undefined,
            (err: unknown) => err as RemoteError,
          ),
      ),
    );
    const limited = answers.filter((e) => e?.code === 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]?.message).toMatch(
      /rate limit: burst may send 50 calls\/s \(bursts of 50\); retry in \d+ ms/,
    );
    // Calls within the burst went through to the master (which says the framework never subscribed).
    expect(answers.filter((e) => e?.code === 'NOT_FOUND').length).toBeGreaterThan(0);
  });
});
