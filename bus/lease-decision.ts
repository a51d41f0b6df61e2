/**
 * The pure core of the leader lease: what to do next and what an attempt's outcome means. No I/O,
 * no timers; `now` is always passed in, so tests drive it with plain numbers.
 *
 * The lease is one key in a replicated KV bucket whose max_age is the lease's time to live: a
 * leader renews it with a compare-and-set update before it expires; when the leader stops writing,
 * the server drops the key after max_age and a candidate's create succeeds. nats-server 2.9 sends
 * no watch event on expiry, so candidates poll.
 */

/** LeaseTiming is the lease's arithmetic, in milliseconds. */
export interface LeaseTiming {
  /** The bucket's max_age: how long the key outlives its last write. */
  ttlMs: number;
  /** How often the leader renews (well under ttlMs, so several renewals may fail in a row). */
  renewEveryMs: number;
  /** How often a candidate tries to acquire. */
  pollEveryMs: number;
  /**
   * Taken off the lease's life on the leader's side, for clock-rate drift and the server's
   * expiry timer: the leader stops acting safetyMs before the key can expire.
   */
  safetyMs: number;
}

/** A candidate polls the key at least this often (ms): how soon a killed leader is noticed. */
export const MAX_POLL_EVERY_MS = 25;

/** A leader renews at least this often (ms): a standby sees a killed leader miss a renewal soon. */
export const MAX_RENEW_EVERY_MS = 100;

/**
 * leaseTimingFor derives the whole timing from the time to live: renewals six times per ttl but
 * at least every 100 ms, a safety margin of a fifth of the ttl, and candidates polling the key
 * fifteen times per ttl but at least every 25 ms (a read, not a write: see Lease). The leader
 * steps down when it has not renewed for ttl - safety (its event loop stalled, or JetStream did not
 * take its writes); a standby notices an expiry within a poll, and a killed leader once it has
 * missed a renewal (see mayTakeOver), whatever the ttl.
 */
export function leaseTimingFor(ttlMs: number): LeaseTiming {
  return {
    ttlMs,
    renewEveryMs: Math.max(1, Math.min(MAX_RENEW_EVERY_MS, Math.round(ttlMs / 6))),
    pollEveryMs: Math.max(1, Math.min(MAX_POLL_EVERY_MS, Math.round(ttlMs / 15))),
    safetyMs: Math.round(ttlMs / 5),
  };
}

/**
 * DEFAULT_LEASE_TTL_MS is the leader lease's default time to live. A killed leader is replaced
 * within about 0.2 s whatever the ttl (its standby finds it gone); the ttl only bounds how long a
 * leader that hangs without dying keeps the lease, and how long a leader's event loop may stall
 * (up to ttl - safety - one renewal, 3.9 s) before it has to step down.
 */
export const DEFAULT_LEASE_TTL_MS = 5000;

/** defaultLeaseTiming: a 5 s lease renewed every 100 ms, polled every 25 ms, 1 s of margin. */
export const defaultLeaseTiming: LeaseTiming = leaseTimingFor(DEFAULT_LEASE_TTL_MS);

/** LeaseTimingError says a timing cannot give a safe lease. */
export class LeaseTimingError extends Error {
  override name = 'LeaseTimingError';
}

/** checkLeaseTiming throws LeaseTimingError unless renewals fit comfortably inside the safe life. */
export function checkLeaseTiming(t: LeaseTiming): LeaseTiming {
  for (const [k, v] of Object.entries(t))
    if (!Number.isFinite(v) || v < 0) throw new LeaseTimingError(`lease ${k} must be a non-negative number`);
  if (t.ttlMs < 100) throw new LeaseTimingError('lease ttlMs must be at least 100 ms');
  if (t.renewEveryMs <= 0 || t.pollEveryMs <= 0)
    throw new LeaseTimingError('lease renewEveryMs and pollEveryMs must be positive');
  if (t.safetyMs >= t.ttlMs) throw new LeaseTimingError('lease safetyMs must be less than ttlMs');
  if (t.renewEveryMs * 2 > t.ttlMs - t.safetyMs)
    throw new LeaseTimingError('lease renewEveryMs must allow two renewals within ttlMs - safetyMs');
  return t;
}

/** LeaseState is where one contender stands. */
export type LeaseState =
  | { role: 'candidate'; nextAttemptAt: number }
  | {
      role: 'leader';
      /** The term: the revision of the write that won it. Larger is newer. */
      epoch: number;
      /** The revision of the last write, for the next compare-and-set. */
      revision: number;
      /** When this term began (local clock). */
      since: number;
      /** The leader acts only before this: last successful write's start + ttl - safety. */
      validUntil: number;
      nextRenewAt: number;
    }
  | { role: 'stopped' };

/** LeaseAction is the next thing a contender should do. */
export type LeaseAction =
  | { kind: 'acquire' }
  | { kind: 'renew'; revision: number; epoch: number }
  | { kind: 'step-down'; reason: string }
  | { kind: 'wait'; untilMs: number }
  | { kind: 'none' };

/**
 * LeaseOutcome is how an attempt ended. `startedAt` is when the write was sent: the server's
 * max_age counts from when it received it, which is no earlier, so the lease is safe until
 * startedAt + ttl (less the safety margin).
 */
export type LeaseOutcome =
  | { kind: 'acquired'; revision: number; startedAt: number }
  | { kind: 'renewed'; revision: number; startedAt: number }
  /** Someone else holds the key (create refused, or the compare-and-set lost). */
  | { kind: 'held-elsewhere' }
  /** The write did not go through for another reason (timeout, no JetStream quorum). */
  | { kind: 'failed'; error: string };

/** initialLeaseState is a candidate that tries at once. */
export function initialLeaseState(now: number): LeaseState {
  return { role: 'candidate', nextAttemptAt: now };
}

/** nextLeaseAction says what to do at `now`. */
export function nextLeaseAction(s: LeaseState, now: number): LeaseAction {
  switch (s.role) {
    case 'stopped':
      return { kind: 'none' };
    case 'candidate':
      return now >= s.nextAttemptAt ? { kind: 'acquire' } : { kind: 'wait', untilMs: s.nextAttemptAt };
    case 'leader':
      if (now >= s.validUntil) return { kind: 'step-down', reason: 'the lease was not renewed in time' };
      if (now >= s.nextRenewAt) return { kind: 'renew', revision: s.revision, epoch: s.epoch };
      return { kind: 'wait', untilMs: Math.min(s.nextRenewAt, s.validUntil) };
  }
}

/** isLeaseValid says whether a leader may still act at `now`. */
export function isLeaseValid(s: LeaseState, now: number): boolean {
  return s.role === 'leader' && now < s.validUntil;
}

/**
 * applyLeaseOutcome folds an attempt's outcome into the state. A leader whose compare-and-set
 * lost steps down at once; one whose write merely failed keeps acting until validUntil and retries
 * at the next renewal time, half a renewal period later.
 */
export function applyLeaseOutcome(s: LeaseState, o: LeaseOutcome, now: number, t: LeaseTiming): LeaseState {
  if (s.role === 'stopped') return s;
  switch (o.kind) {
    case 'acquired':
      return {
        role: 'leader',
        epoch: o.revision,
        revision: o.revision,
        since: now,
        validUntil: o.startedAt + t.ttlMs - t.safetyMs,
        nextRenewAt: o.startedAt + t.renewEveryMs,
      };
    case 'renewed':
      if (s.role !== 'leader') return s;
      return {
        ...s,
        revision: o.revision,
        validUntil: Math.max(s.validUntil, o.startedAt + t.ttlMs - t.safetyMs),
        nextRenewAt: o.startedAt + t.renewEveryMs,
      };
    case 'held-elsewhere':
      return { role: 'candidate', nextAttemptAt: now + t.pollEveryMs };
    case 'failed':
      if (s.role === 'leader') {
        if (now >= s.validUntil) return { role: 'candidate', nextAttemptAt: now + t.pollEveryMs };
        return { ...s, nextRenewAt: now + Math.max(50, t.renewEveryMs / 2) };
      }
      return { role: 'candidate', nextAttemptAt: now + t.pollEveryMs };
  }
}

/**
 * HolderSighting is what a candidate knows of the holding it keeps finding in the key: who holds
 * it, at which revision, since when (the candidate's clock) that revision has stood, and since
 * when its probes have found nobody answering for that holder.
 */
export interface HolderSighting {
  holder: string;
  revision: number;
  since: number;
  goneSince?: number;
}

/**
 * noteProbe folds one probe of the holder into the sighting. A renewal (a new revision) or
 * another holder starts afresh, from `readAt`, when the read that found it returned (a probe that
 * waited out its timeout must not make a revision look younger than it is); an answer, or a probe
 * that timed out, forgets the silence.
 */
export function noteProbe(
  prev: HolderSighting | undefined,
  held: { holder: string; revision: number },
  verdict: 'alive' | 'gone' | 'unknown',
  now: number,
  readAt = now,
): HolderSighting {
  const same = prev !== undefined && prev.holder === held.holder && prev.revision === held.revision;
  const since = same ? prev.since : readAt;
  if (verdict !== 'gone') return { holder: held.holder, revision: held.revision, since };
  const goneSince = same && prev.goneSince !== undefined ? prev.goneSince : now;
  return { holder: held.holder, revision: held.revision, since, goneSince };
}

/**
 * mayTakeOver says whether a candidate may take the key over before it expires. Both must hold:
 * - the revision has stood longer than a renewal period and two polls, so the holder has missed
 *   a renewal. A live leader that this candidate merely cannot reach (the route between their
 *   NATS servers is down, so its interest is gone from this server) keeps renewing through
 *   JetStream and is never taken over, nor does the loser of a takeover take it back;
 * - probes at least a poll apart found nobody answering for the holder: one is not enough, as a
 *   holder that has only just won the key might not yet be known on every server.
 */
export function mayTakeOver(s: HolderSighting, now: number, t: LeaseTiming): boolean {
  return (
    s.goneSince !== undefined &&
    now - s.goneSince >= t.pollEveryMs &&
    now - s.since >= t.renewEveryMs + 2 * t.pollEveryMs
  );
}
