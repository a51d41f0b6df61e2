import { describe, expect, it } from 'vitest';
import { defaultLeadershipConfig } from '../../actors/master/leadership.js';
import {
  applyLeaseOutcome,
  checkLeaseTiming,
  DEFAULT_LEASE_TTL_MS,
  defaultLeaseTiming,
  initialLeaseState,
  type LeaseState,
  leaseTimingFor,
  nextLeaseAction,
} from '../../bus/lease-decision.js';

describe('lease timing derived from the time to live', () => {
  it('renews six times per ttl but at least every 100 ms, polls fifteen times but at least every 25 ms, and keeps a fifth as margin', () => {
    // ttl 1500: renew every 100 (not 250), poll every 25 (not 100), stop acting 300 before the key can expire.
    expect(leaseTimingFor(1500)).toEqual({ ttlMs: 1500, renewEveryMs: 100, pollEveryMs: 25, safetyMs: 300 });
    // ttl 5000: renew every 100 (not 833), poll every 25 (not 333), margin 1000.
    expect(leaseTimingFor(5000)).toEqual({ ttlMs: 5000, renewEveryMs: 100, pollEveryMs: 25, safetyMs: 1000 });
    // A short ttl renews six and polls fifteen times per ttl: 300 ms renews every 50, polls every 20.
    expect(leaseTimingFor(300)).toMatchObject({ renewEveryMs: 50, pollEveryMs: 20 });
  });

  it('is a safe timing for every ttl the master accepts', () => {
    for (const ttl of [1000, 1500, 2000, 3000, 5000, 10_000, 60_000])
      expect(() => checkLeaseTiming(leaseTimingFor(ttl))).not.toThrow();
  });

  it('defaults to a 5 s lease, in the master too', () => {
    expect(DEFAULT_LEASE_TTL_MS).toBe(5000);
    expect(defaultLeaseTiming).toEqual(leaseTimingFor(5000));
    expect(defaultLeadershipConfig().lease).toEqual(leaseTimingFor(5000));
  });

  it('lets a leader whose renewals stall stop acting before the key can expire', () => {
    const t = leaseTimingFor(1500);
    // A renewal sent at 1000 succeeds: the leader may act until 1000 + 1500 - 300 = 2200.
    const leader = applyLeaseOutcome(
      initialLeaseState(0),
      { kind: 'acquired', revision: 5, startedAt: 1000 },
      1010,
      t,
    ) as Extract<LeaseState, { role: 'leader' }>;
    expect(leader.validUntil).toBe(2200);
    expect(leader.nextRenewAt).toBe(1100);
    // Every renewal after it fails (a stalled event loop, a lost NATS node): four more tries fit...
    let s: LeaseState = leader;
    let tries = 0;
    for (let now = 1100; now < 2200; now += 1) {
      const a = nextLeaseAction(s, now);
      if (a.kind === 'renew') {
        tries++;
        s = applyLeaseOutcome(s, { kind: 'failed', error: 'timeout' }, now, t);
      }
    }
    expect(tries).toBeGreaterThanOrEqual(4);
    // ...and at 2200 it steps down, 300 ms before the server can drop the key (2500 at the earliest).
    expect(nextLeaseAction(s, 2200)).toEqual({
      kind: 'step-down',
      reason: 'the lease was not renewed in time',
    });
  });

  it('lets a standby notice the expiry within one poll period', () => {
    const t = leaseTimingFor(1500);
    // Refused at 3000 (someone holds the key): the next try is at 3025.
    const c = applyLeaseOutcome(initialLeaseState(3000), { kind: 'held-elsewhere' }, 3000, t);
    expect(nextLeaseAction(c, 3024)).toEqual({ kind: 'wait', untilMs: 3025 });
    expect(nextLeaseAction(c, 3025)).toEqual({ kind: 'acquire' });
  });
});
