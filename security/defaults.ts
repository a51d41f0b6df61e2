import type { RateLimit } from './rate-limiter.js';

/**
 * DEFAULT_RATE_LIMIT is what `mezzo up` and `mezzo master` allow each principal: far above what a
 * scheduler needs (a handful of calls per offer cycle) and far below what starves a master.
 */
export const DEFAULT_RATE_LIMIT: RateLimit = { ratePerSecond: 500, burst: 1000 };
