import { BusError } from '../../bus/index.js';
import { type Bucket, type RateLimit, takeToken, validateRateLimit } from '../../security/index.js';

/** CallLimiter charges calls to a key (a principal) and refuses those over its rate. */
export interface CallLimiter {
  /** Takes a token for `key`; throws a RATE_LIMITED BusError, which changes nothing, when none is left. */
  charge(key: string): void;
}

/**
 * createCallLimiter keeps one token bucket per principal (pure arithmetic in takeToken), so a
 * framework flooding the master spends only its own tokens. At most `maxKeys` buckets are kept:
 * beyond that the least recently used go, which only ever makes a principal's next call free.
 */
export function createCallLimiter(limit: RateLimit, now: () => number, maxKeys = 10_000): CallLimiter {
  validateRateLimit(limit);
  const buckets = new Map<string, Bucket>();
  return {
    charge(key) {
      const take = takeToken(buckets.get(key), limit, now());
      buckets.delete(key);
      buckets.set(key, take.bucket);
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string);
      if (!take.allowed) {
        throw new BusError(
          `rate limit: ${key} may send ${limit.ratePerSecond} calls/s (bursts of ${limit.burst}); retry in ${take.retryAfterMs} ms`,
          'RATE_LIMITED',
        );
      }
    },
  };
}
