/** The GET_STATE benchmark (scenario 6) as functions, for main.ts and the smoke test. */

export * from './fetch-state.js';
export * from './state.js';
