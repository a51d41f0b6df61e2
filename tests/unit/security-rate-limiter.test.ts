import { describe, expect, it } from 'vitest';
import { createCallLimiter } from '../../actors/master/rate-limit.js';
import { takeToken, validateRateLimit } from '../../security/index.js';

describe('takeToken', () => {
  const limit = { ratePerSecond: 10, burst: 3 };

  it('lets a burst through, then refuses until a token refills', () => {
    let bucket: Parameters<typeof takeToken>[0];
    const at = (now: number) => {
      const t = takeToken(bucket, limit, now);
      bucket = t.bucket;
      return t;
    };
    expect([at(0), at(0), at(0)].map((t) => t.allowed)).toEqual([true, true, true]);
    const refused = at(0);
    // 0 tokens left, 10/s: one token takes 100 ms
    expect(refused).toEqual({ allowed: false, bucket: { tokens: 0, updatedAt: 0 }, retryAfterMs: 100 });
    expect(at(50).allowed).toBe(false); // 0.5 tokens
    expect(at(100).allowed).toBe(true); // 1.0 token
  });

  it('never holds more than the burst, however long it waited', () => {
    const t = takeToken({ tokens: 0, updatedAt: 0 }, limit, 1_000_000);
    expect(t).toEqual({ allowed: true, bucket: { tokens: 2, updatedAt: 1_000_000 } });
  });

  it('refills nothing when the clock goes backwards', () => {
    const t = takeToken({ tokens: 0.5, updatedAt: 1000 }, limit, 500);
    expect(t.allowed).toBe(false);
    expect(t.bucket.tokens).toBe(0.5);
  });

  it('refuses limits that never refill or never allow a call', () => {
    expect(() => validateRateLimit({ ratePerSecond: 0, burst: 1 })).toThrow(/ratePerSecond/);
    expect(() => validateRateLimit({ ratePerSecond: Number.NaN, burst: 1 })).toThrow(/ratePerSecond/);
    expect(() => validateRateLimit({ ratePerSecond: 1, burst: 0.5 })).toThrow(/burst/);
  });
});

describe('createCallLimiter', () => {
  it('charges each principal its own bucket and refuses with RATE_LIMITED', () => {
    let now = 0;
    const limiter = createCallLimiter({ ratePerSecond: 1, burst: 2 }, () => now);
    limiter.charge('flood');
    limiter.charge('flood');
    expect(() => limiter.charge('flood')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
    expect(() => limiter.charge('flood')).toThrow(
      /flood may send 1 calls\/s \(bursts of 2\); retry in 1000 ms/,
    );
    limiter.charge('quiet'); // another principal is not affected
    now = 1000;
    limiter.charge('flood');
  });
});
