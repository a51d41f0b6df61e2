import { describe, expect, it } from 'vitest';
import {
  applyLeaseOutcome,
  checkLeaseTiming,
  initialLeaseState,
  isLeaseValid,
  type LeaseState,
  type LeaseTiming,
  LeaseTimingError,
  nextLeaseAction,
} from '../../bus/lease-decision.js';

// ttl 5000, renew every 1000, poll every 500, safety 750: a write sent at t is safe until t + 4250.
const t: LeaseTiming = { ttlMs: 5000, renewEveryMs: 1000, pollEveryMs: 500, safetyMs: 750 };
const leader = (over: Partial<Extract<LeaseState, { role: 'leader' }>> = {}): LeaseState => ({
  role: 'leader',
  epoch: 7,
  revision: 7,
  since: 1000,
  validUntil: 5250,
  nextRenewAt: 2000,
  ...over,
});

describe('lease decisions', () => {
  it('makes a fresh contender try to acquire at once', () => {
    expect(nextLeaseAction(initialLeaseState(100), 100)).toEqual({ kind: 'acquire' });
  });

  it('makes a candidate wait for its next poll', () => {
    expect(nextLeaseAction({ role: 'candidate', nextAttemptAt: 600 }, 100)).toEqual({
      kind: 'wait',
      untilMs: 600,
    });
  });

  it('starts a term whose epoch is the winning revision and whose life counts from the send time', () => {
    const s = applyLeaseOutcome(
      initialLeaseState(0),
      { kind: 'acquired', revision: 42, startedAt: 1000 },
      1200,
      t,
    );
    expect(s).toEqual({
      role: 'leader',
      epoch: 42,
      revision: 42,
      since: 1200,
      validUntil: 1000 + 5000 - 750,
      nextRenewAt: 2000,
    });
  });

  it('renews at the renewal time and keeps the epoch while the revision moves on', () => {
    const s = leader();
    expect(nextLeaseAction(s, 2000)).toEqual({ kind: 'renew', revision: 7, epoch: 7 });
    const r = applyLeaseOutcome(s, { kind: 'renewed', revision: 9, startedAt: 2000 }, 2010, t);
    expect(r).toMatchObject({ role: 'leader', epoch: 7, revision: 9, validUntil: 6250, nextRenewAt: 3000 });
  });

  it('waits until the earlier of renewal and expiry', () => {
    expect(nextLeaseAction(leader(), 1500)).toEqual({ kind: 'wait', untilMs: 2000 });
  });

  it('steps down when the lease outlived its safe life (a paused process waking up)', () => {
    const s = leader();
    expect(isLeaseValid(s, 5249)).toBe(true);
    expect(isLeaseValid(s, 5250)).toBe(false);
    expect(nextLeaseAction(s, 9000)).toMatchObject({ kind: 'step-down' });
  });

  it('steps down at once when the compare-and-set lost to another contender', () => {
    expect(applyLeaseOutcome(leader(), { kind: 'held-elsewhere' }, 2100, t)).toEqual({
      role: 'candidate',
      nextAttemptAt: 2600,
    });
  });

  it('keeps a leader whose renewal merely failed until its lease runs out, retrying sooner', () => {
    const s = applyLeaseOutcome(leader(), { kind: 'failed', error: 'timeout' }, 2100, t);
    expect(s).toMatchObject({ role: 'leader', epoch: 7, validUntil: 5250, nextRenewAt: 2600 });
    expect(applyLeaseOutcome(leader(), { kind: 'failed', error: 'timeout' }, 5300, t)).toEqual({
      role: 'candidate',
      nextAttemptAt: 5800,
    });
  });

  it('never lets a late renewal shorten the lease', () => {
    const s = applyLeaseOutcome(
      leader({ validUntil: 6000 }),
      { kind: 'renewed', revision: 8, startedAt: 1000 },
      2000,
      t,
    );
    expect(s).toMatchObject({ validUntil: 6000 });
  });

  it('leaves a candidate a candidate on a late renewal answer, and polls again after a refusal', () => {
    const c: LeaseState = { role: 'candidate', nextAttemptAt: 0 };
    expect(applyLeaseOutcome(c, { kind: 'renewed', revision: 3, startedAt: 0 }, 10, t)).toBe(c);
    expect(applyLeaseOutcome(c, { kind: 'held-elsewhere' }, 10, t)).toEqual({
      role: 'candidate',
      nextAttemptAt: 510,
    });
  });

  it('does nothing once stopped', () => {
    const s: LeaseState = { role: 'stopped' };
    expect(nextLeaseAction(s, 0)).toEqual({ kind: 'none' });
    expect(applyLeaseOutcome(s, { kind: 'acquired', revision: 1, startedAt: 0 }, 0, t)).toBe(s);
  });

  it.each([
    [{ ...t, ttlMs: 50 }, /at least 100/],
    [{ ...t, safetyMs: 5000 }, /safetyMs/],
    [{ ...t, renewEveryMs: 3000 }, /two renewals/],
    [{ ...t, pollEveryMs: 0 }, /positive/],
    [{ ...t, ttlMs: Number.NaN }, /non-negative/],
  ])('refuses an unsafe timing %#', (bad, msg) => {
    expect(() => checkLeaseTiming(bad)).toThrow(LeaseTimingError);
    expect(() => checkLeaseTiming(bad)).toThrow(msg);
  });
});
