import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTLE, HeapSettle, settleConfig, settleDue } from '../../actors/master/heap-settle.js';

const cfg = { minRegisters: 3, quietMs: 1000 };

describe('settling the heap after a registration storm', () => {
  it.each([
    { registers: 0, lastRegisterAt: 0, now: 5000, due: false, why: 'no storm' },
    { registers: 2, lastRegisterAt: 0, now: 5000, due: false, why: 'too few REGISTERs' },
    { registers: 3, lastRegisterAt: 4500, now: 5000, due: false, why: 'not quiet long enough' },
    { registers: 3, lastRegisterAt: 4000, now: 5000, due: true, why: 'a storm, then quiet' },
  ])('is due: $due ($why)', ({ registers, lastRegisterAt, now, due }) => {
    expect(settleDue({ registers, lastRegisterAt }, now, cfg)).toBe(due);
  });

  it('is never due when turned off', () => {
    expect(settleDue({ registers: 10 ** 6, lastRegisterAt: 0 }, 10 ** 9, { ...cfg, minRegisters: 0 })).toBe(
      false,
    );
  });

  it('collects once when a storm ends, and again only after another', () => {
    let now = 0;
    let collections = 0;
    const settle = new HeapSettle(
      cfg,
      () => collections++,
      () => now,
    );
    for (let i = 0; i < 5; i++) {
      now += 10;
      settle.registered();
      expect(settle.tick()).toBeUndefined();
    }
    now += 999;
    expect(settle.tick()).toBeUndefined();
    now += 1;
    expect(settle.tick()).toBeTypeOf('number');
    expect(collections).toBe(1);
    now += 10_000;
    expect(settle.tick()).toBeUndefined();
    settle.registered();
    settle.registered();
    now += 5000;
    expect(settle.tick()).toBeUndefined();
    settle.registered();
    now += 1000;
    settle.tick();
    expect(collections).toBe(2);
  });

  it('reads MEZZO_MASTER_SETTLE_REGISTERS and refuses a bad value', () => {
    expect(settleConfig({})).toEqual(DEFAULT_SETTLE);
    expect(settleConfig({ MEZZO_MASTER_SETTLE_REGISTERS: '0' }).minRegisters).toBe(0);
    expect(settleConfig({ MEZZO_MASTER_SETTLE_REGISTERS: '500' })).toEqual({
      ...DEFAULT_SETTLE,
      minRegisters: 500,
    });
    expect(() => settleConfig({ MEZZO_MASTER_SETTLE_REGISTERS: '-1' })).toThrow(/whole number/);
    expect(() => settleConfig({ MEZZO_MASTER_SETTLE_REGISTERS: 'lots' })).toThrow(/whole number/);
  });
});
