/** RateLimit is a token bucket's shape: `ratePerSecond` tokens refill it, up to `burst`. */
export interface RateLimit {
  ratePerSecond: number;
  burst: number;
}

/** Bucket is one principal's token bucket at a moment. */
export interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Take is takeToken's answer: the bucket after the call and, when refused, how long to wait. */
export type Take =
  | { allowed: true; bucket: Bucket }
  | { allowed: false; bucket: Bucket; retryAfterMs: number };

/**
 * takeToken refills a bucket for the time elapsed since it was last touched and takes one token
 * for a call. A principal's first call finds a full bucket; a clock that goes backwards refills
 * nothing. Pure: the caller keeps the bucket and supplies `now` (ms).
 */
export function takeToken(bucket: Bucket | undefined, limit: RateLimit, now: number): Take {
  const start = bucket ?? { tokens: limit.burst, updatedAt: now };
  const elapsed = Math.max(0, now - start.updatedAt);
  const tokens = Math.min(limit.burst, start.tokens + (elapsed * limit.ratePerSecond) / 1000);
  if (tokens >= 1) return { allowed: true, bucket: { tokens: tokens - 1, updatedAt: now } };
  const retryAfterMs = Math.ceil(((1 - tokens) * 1000) / limit.ratePerSecond);
  return { allowed: false, bucket: { tokens, updatedAt: now }, retryAfterMs };
}

/** validateRateLimit refuses a limit that would never refill or never allow a call. */
export function validateRateLimit(limit: RateLimit): RateLimit {
  if (!Number.isFinite(limit.ratePerSecond) || limit.ratePerSecond <= 0)
    throw new Error(`rate limit: ratePerSecond must be a positive number, not ${limit.ratePerSecond}`);
  if (!Number.isFinite(limit.burst) || limit.burst < 1)
    throw new Error(`rate limit: burst must be at least 1, not ${limit.burst}`);
  return limit;
}
