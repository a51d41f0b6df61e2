import { describe, expect, it } from 'vitest';
import { chooseRoute, IntakeRoute, laneOf } from '../../bus/intake-route.js';

describe('chooseRoute', () => {
  const MIN = 1024;
  it.each([
    // bytes, in flight for the sender, worker ready, route
    [4096, 0, true, IntakeRoute.WORKER], // large, worker up: off the thread
    [1024, 0, true, IntakeRoute.WORKER], // exactly minBytes counts as large
    [1023, 0, true, IntakeRoute.INLINE], // small: parsed at once
    [4096, 0, false, IntakeRoute.INLINE], // large but the worker is still booting (or gone)
    [10, 1, true, IntakeRoute.WORKER], // small, but an earlier message of its sender is in the worker
    [10, 3, true, IntakeRoute.WORKER],
  ])('routes %i bytes with %i in flight (worker ready: %s) %s', (bytes, inFlight, ready, route) => {
    expect(chooseRoute(bytes, inFlight, ready, MIN)).toBe(route);
  });

  it('never lets a message overtake an earlier one of its sender that is in a worker', () => {
    for (const bytes of [0, 1, 100, 1023, 1024, 1 << 20])
      for (const ready of [true, false]) expect(chooseRoute(bytes, 1, ready, MIN)).toBe(IntakeRoute.WORKER);
  });
});

describe('laneOf', () => {
  it('puts every sender on lane 0 when there is one lane (or none)', () => {
    expect(laneOf('mezzo.v1.master.agent.a-1', 1)).toBe(0);
    expect(laneOf('mezzo.v1.master.agent.a-1', 0)).toBe(0);
  });

  it('always gives a sender the same lane, within range, and spreads senders over the lanes', () => {
    const counts = [0, 0, 0];
    const keys = Array.from({ length: 3000 }, (_, i) => `mezzo.v1.master.agent.a-${i}`);
    const lanes = keys.map((k) => laneOf(k, 3));
    expect(keys.map((k) => laneOf(k, 3))).toEqual(lanes);
    for (const lane of lanes) counts[lane]++;
    expect(counts.reduce((a, b) => a + b)).toBe(3000);
    // 1,000 each if even; FNV-1a on these keys stays well within 20 % of that.
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(200);
  });
});
