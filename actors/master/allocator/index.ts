/** The first allocator: pure, one offer per agent per run, lowest dominant share first. */
export * from './allocate.js';
