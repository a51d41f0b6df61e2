/** Clock is injected wherever time matters, so tests can move it by hand. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** systemClock reads the wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** ManualClock is a clock that moves only when told to (for tests and simulations). */
export class ManualClock implements Clock {
  constructor(private t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
