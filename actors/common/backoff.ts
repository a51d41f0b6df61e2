/** BackoffPolicy is exponential backoff with full jitter, like Mesos's registration backoff. */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/**
 * backoffMs returns a delay drawn uniformly from [0, min(base * 2^attempt, cap)]; `random` is
 * injected so the draw is testable.
 */
export function backoffMs(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** exponentialMs returns base * 2^attempt capped, without jitter (retry intervals). */
export function exponentialMs(attempt: number, policy: BackoffPolicy): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
}
