/** The ingest benchmark (scenario 5) as functions, for main.ts and the smoke test. */
export * from './ingest.js';
