/** The GET_STATE benchmark (scenario 6) as functions, for main.ts and the smoke test. */
export * from './state.js';
