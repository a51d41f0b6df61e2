/** Pieces every actor shares: injected time and retry arithmetic. */
export * from './backoff.js';
export * from './clock.js';
export * from './not-provided.js';
