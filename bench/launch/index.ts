/** The launch benchmark (scenario 2) and its churn shape (scenario 4), for main.ts and the smoke tests. */
export * from './churn.js';
export * from './launch.js';
