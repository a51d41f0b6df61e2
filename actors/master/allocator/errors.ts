/** AllocatorError is the base of every error the allocator throws; it keeps the cause. */
export class AllocatorError extends Error {
  override name = 'AllocatorError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** QuotaError rejects a quota update (bad role, negative or non-scalar amounts, guarantee above limit). */
export class QuotaError extends AllocatorError {
  override name = 'QuotaError';
}

/** WeightError rejects a weight update (bad role name, weight not a finite number above zero). */
export class WeightError extends AllocatorError {
  override name = 'WeightError';
}

/** ReservationError rejects a RESERVE or UNRESERVE that the agent's resources cannot honour. */
export class ReservationError extends AllocatorError {
  override name = 'ReservationError';
}

/**
 * AllocatorStateError reports a call that does not match what the allocator tracks: an unknown
 * agent, a total smaller than what is allocated on it, resources used that were never offered.
 */
export class AllocatorStateError extends AllocatorError {
  override name = 'AllocatorStateError';
}
