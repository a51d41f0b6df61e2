import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectNats,
  kvLeaseStore,
  Lease,
  type LeaseTerm,
  natsLeaseLiveness,
  openLeaseBucket,
  silentLogger,
} from '../../bus/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

async function until(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const timing = { ttlMs: 1500, renewEveryMs: 300, pollEveryMs: 100, safetyMs: 300 };

async function contender(
  bucket: string,
  holder: string,
  opts: { liveness?: boolean; timing?: typeof timing } = {},
) {
  const t = opts.timing ?? timing;
  const nc = await connectNats({ servers: nats.url, name: holder, log: silentLogger });
  const kv = await openLeaseBucket(nc, bucket, { ttlMs: t.ttlMs, replicas: 1 });
  const events: { kind: 'elected' | 'deposed'; term: LeaseTerm; at: number }[] = [];
  const lease = new Lease({
    store: kvLeaseStore(kv, 'leader'),
    holder,
    timing: t,
    log: silentLogger,
    ...(opts.liveness
      ? {
          liveness: natsLeaseLiveness(nc, (h) => `test.${bucket}.alive.${h}`, {
            timeoutMs: t.renewEveryMs,
            log: silentLogger,
          }),
        }
      : {}),
    onElected: (term) => events.push({ kind: 'elected', term, at: Date.now() }),
    onDeposed: (term) => events.push({ kind: 'deposed', term, at: Date.now() }),
  });
  return { nc, lease, events, kv };
}

describe('lease on a JetStream KV bucket', () => {
  it('opens one bucket for contenders that all create it at once', async () => {
    const ncs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        connectNats({ servers: nats.url, name: `racer-${i}`, log: silentLogger }),
      ),
    );
    try {
      // Ten rounds of six creates at once, each round a new bucket: any create the server refused
      // as a loser of the race would reject here.
      for (let round = 0; round < 10; round++) {
        const kvs = await Promise.all(
          ncs.map((nc) => openLeaseBucket(nc, `lease_race_${round}`, { ttlMs: 1500, replicas: 1 })),
        );
        await kvs[0].put('k', 'v');
        expect((await kvs[5].get('k'))?.string()).toBe('v');
      }
    } finally {
      for (const nc of ncs) await nc.close();
    }
  });

  it('elects exactly one of three contenders and hands over on release with a larger epoch', async () => {
    const cs = await Promise.all(['a', 'b', 'c'].map((h) => contender('lease_release', h)));
    for (const c of cs) c.lease.start();
    await until(() => cs.filter((c) => c.lease.current()).length === 1);
    // Several renewals later, still one leader and nobody else ever elected.
    await new Promise((r) => setTimeout(r, 1000));
    expect(cs.flatMap((c) => c.events).filter((e) => e.kind === 'elected')).toHaveLength(1);
    const first = cs.find((c) => c.lease.current()) as (typeof cs)[number];
    const epoch1 = first.lease.current()?.epoch as number;
    await first.lease.stop();
    const rest = cs.filter((c) => c !== first);
    await until(() => rest.some((c) => c.lease.current()));
    const second = rest.find((c) => c.lease.current()) as (typeof cs)[number];
    expect(second.lease.current()?.epoch).toBeGreaterThan(epoch1);
    expect(first.events.map((e) => e.kind)).toEqual(['elected', 'deposed']);
    for (const c of cs) {
      await c.lease.stop();
      await c.nc.close();
    }
  });

  it('lets a standby take over after max_age when the leader stops writing without releasing', async () => {
    const a = await contender('lease_expiry', 'a');
    a.lease.start();
    await until(() => a.lease.current() !== undefined);
    const b = await contender('lease_expiry', 'b');
    b.lease.start();
    await new Promise((r) => setTimeout(r, 500));
    expect(b.lease.current()).toBeUndefined();
    // The leader's process dies: its connection goes, nothing releases the key.
    const lostAt = Date.now();
    await a.lease.stop(false);
    await a.nc.close();
    await until(() => b.lease.current() !== undefined);
    // Not before the key expired (max_age 1.5 s after the last renewal), and not much later.
    const tookMs = Date.now() - lostAt;
    expect(tookMs).toBeGreaterThan(timing.ttlMs - timing.renewEveryMs - 200);
    expect(tookMs).toBeLessThan(timing.ttlMs + 3000);
    await b.lease.stop();
    await b.nc.close();
  });

  it('deposes a leader whose key was taken over, and its isValid turns false at once', async () => {
    const a = await contender('lease_cas', 'a');
    a.lease.start();
    await until(() => a.lease.current() !== undefined);
    const held = await kvLeaseStore(a.kv, 'leader').read();
    // Someone else wins the key behind the leader's back (as after an expiry it slept through).
    await a.kv.update(
      'leader',
      JSON.stringify({ holder: 'intruder', epoch: 0, since: 0 }),
      held?.revision ?? 0,
    );
    await until(() => a.events.some((e) => e.kind === 'deposed'));
    expect(a.lease.isValid()).toBe(false);
    await a.lease.stop();
    await a.nc.close();
  });

  // A long lease, so that a takeover well within it cannot be the key expiring.
  const longLease = { ttlMs: 8000, renewEveryMs: 300, pollEveryMs: 100, safetyMs: 1500 };

  it('with liveness, a standby takes over a leader whose connection is gone long before its key expires', async () => {
    const a = await contender('lease_liveness_dead', 'a', { liveness: true, timing: longLease });
    a.lease.start();
    await until(() => a.lease.current() !== undefined);
    const epoch1 = a.lease.current()?.epoch as number;
    const b = await contender('lease_liveness_dead', 'b', { liveness: true, timing: longLease });
    b.lease.start();
    // A live leader is probed (its key is left unrenewed only briefly) but never taken over.
    await new Promise((r) => setTimeout(r, 1500));
    expect(b.lease.current()).toBeUndefined();
    expect(a.lease.current()?.epoch).toBe(epoch1);
    // The leader's process dies: its connection goes with its subscriptions; nothing releases the key.
    const lostAt = Date.now();
    await a.nc.close();
    await until(() => b.lease.current() !== undefined);
    const tookMs = Date.now() - lostAt;
    expect(tookMs).toBeLessThan(longLease.ttlMs - longLease.safetyMs - 2000);
    expect(b.lease.current()?.epoch).toBeGreaterThan(epoch1);
    expect(a.lease.isValid()).toBe(false);
    await a.lease.stop(false);
    await b.lease.stop();
    await b.nc.close();
  });

  it('with liveness, two live contenders keep one leader and one term', async () => {
    const cs = await Promise.all(
      ['a', 'b'].map((h) => contender('lease_liveness_live', h, { liveness: true })),
    );
    for (const c of cs) c.lease.start();
    await until(() => cs.filter((c) => c.lease.current()).length === 1);
    await new Promise((r) => setTimeout(r, 2000));
    expect(cs.flatMap((c) => c.events).map((e) => e.kind)).toEqual(['elected']);
    for (const c of cs) {
      await c.lease.stop();
      await c.nc.close();
    }
  });
});
