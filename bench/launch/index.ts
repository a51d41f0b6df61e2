/** The launch benchmark (scenario 2) as functions, for main.ts and the smoke test. */
export * from './launch.js';
