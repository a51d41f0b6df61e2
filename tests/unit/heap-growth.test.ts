import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { heapGrowthPercent, MASTER_HEAP_GROWTH_PERCENT } from '../../actors/master/heap-growth.js';

/**
 * A child keeps ~150 MB live, collects, then makes garbage that lives long enough to be promoted;
 * with --trace-gc it prints every full collection. Returns the heap size each full collection
 * after the forced one started at, and what was live after the forced one.
 */
function fullCollections(percent: number | undefined): { live: number; startedAt: number[] } {
  const module = resolve('dist/actors/master/heap-growth.js');
  const script = `
    const v8 = require('node:v8'); const vm = require('node:vm');
    v8.setFlagsFromString('--expose-gc'); const gc = vm.runInNewContext('gc');
    import(${JSON.stringify(module)}).then(({ setHeapGrowth }) => {
      ${percent === undefined ? '' : `setHeapGrowth(${percent});`}
      const live = []; for (let i = 0; i < 1e6; i++) live.push({ a: i, b: 'x' + i, c: [i] });
      gc(); console.log('FORCED');
      const ring = new Array(200000); let k = 0;
      for (let i = 0; i < 8e6; i++) { ring[k] = { i, s: 'y' + i }; k = (k + 1) % ring.length; }
      console.log('END', live.length);
    });`;
  const out = execFileSync(process.execPath, ['--trace-gc', '-e', script], { encoding: 'utf8' });
  const after = out.slice(out.indexOf('FORCED'));
  const forced = out.slice(0, out.indexOf('FORCED')).trim().split('\n').at(-1) as string;
  const live = Number(/-> ([\d.]+) \(/.exec(forced)?.[1]);
  const startedAt = [...after.matchAll(/Mark-Compact ([\d.]+) \(/g)].map((m) => Number(m[1]));
  return { live, startedAt };
}

describe("a master process's heap growth", () => {
  it('reads MEZZO_MASTER_HEAP_GROWTH_PERCENT and refuses a bad value', () => {
    expect(heapGrowthPercent({})).toBe(MASTER_HEAP_GROWTH_PERCENT);
    expect(heapGrowthPercent({ MEZZO_MASTER_HEAP_GROWTH_PERCENT: '0' })).toBe(0);
    expect(heapGrowthPercent({ MEZZO_MASTER_HEAP_GROWTH_PERCENT: '250' })).toBe(250);
    expect(() => heapGrowthPercent({ MEZZO_MASTER_HEAP_GROWTH_PERCENT: '-5' })).toThrow(/0 to 1000/);
    expect(() => heapGrowthPercent({ MEZZO_MASTER_HEAP_GROWTH_PERCENT: 'big' })).toThrow(/0 to 1000/);
  });

  it('sets how far the heap grows past what is live before the next full collection', () => {
    // 10 %: collections come at about 1.1 times what is live, so the setting is what decides.
    const tight = fullCollections(10);
    expect(tight.live).toBeGreaterThan(50);
    expect(tight.startedAt.length).toBeGreaterThan(0);
    expect(tight.startedAt[0]).toBeLessThan(tight.live * 1.4);
    // The master's 100 %: the heap reaches twice what is live first.
    const master = fullCollections(MASTER_HEAP_GROWTH_PERCENT);
    expect(master.startedAt.length).toBeGreaterThan(0);
    for (const size of master.startedAt) expect(size).toBeGreaterThanOrEqual(master.live * 1.8);
  }, 60_000);
});
