/** What every end-to-end benchmark shares: processes, /proc readings, progress and results. */
export * from './args.js';
export * from './environment.js';
export * from './loop-stalls.js';
export * from './master-process.js';
export * from './process-stats.js';
export * from './progress.js';
export * from './results.js';
export * from './seeded-master.js';
