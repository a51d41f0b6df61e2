/** The allocator benchmark (Mesos's DeclineOffers shape) as functions, for main.ts and the smoke test. */
export * from './decline-offers.js';
export * from './grid.js';
export * from './results.js';
