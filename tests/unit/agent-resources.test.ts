import { describe, expect, it } from 'vitest';
import { detectResources, localAgentResources, type MachineFacts } from '../../actors/agent/index.js';
import { resources as R, type Range } from '../../protocol/index.js';

describe('agent resource detection', () => {
  const cases: { name: string; machine: MachineFacts; overrides?: string; expected: string }[] = [
    {
      name: 'leaves 1 GB of memory and 5 GB of disk to the system on a big machine',
      machine: { cpus: 8, memMb: 16384, diskMb: 100_000 },
      // mem = 16384 - 1024; disk = 100000 - 5120
      expected: 'cpus:8;disk:94880;mem:15360;ports:[31000-32000]',
    },
    {
      name: 'halves memory under 2 GB and disk under 10 GB',
      machine: { cpus: 1, memMb: 1500, diskMb: 8000 },
      // mem = 1500 / 2; disk = 8000 / 2
      expected: 'cpus:1;disk:4000;mem:750;ports:[31000-32000]',
    },
    {
      name: 'subtracts at exactly 2 GB and 10 GB',
      machine: { cpus: 2, memMb: 2048, diskMb: 10240 },
      expected: 'cpus:2;disk:5120;mem:1024;ports:[31000-32000]',
    },
    {
      name: 'lets the resources flag replace detected entries of the same name and add new ones',
      machine: { cpus: 8, memMb: 16384, diskMb: 100_000 },
      overrides: 'cpus:2;ports:[8000-8010];gpus:1',
      expected: 'cpus:2;disk:94880;gpus:1;mem:15360;ports:[8000-8010]',
    },
    {
      name: 'replaces a detected entry with a reserved one of the same name',
      machine: { cpus: 8, memMb: 16384, diskMb: 100_000 },
      overrides: 'cpus(ads):4',
      expected: 'cpus(ads):4;disk:94880;mem:15360;ports:[31000-32000]',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(R.formatResources(detectResources(c.machine, c.overrides))).toBe(c.expected);
    });
  }

  it('rejects a malformed resources flag', () => {
    expect(() => detectResources({ cpus: 1, memMb: 4096, diskMb: 20_000 }, 'cpus=2')).toThrow(/NAME:VALUE/);
  });
});

describe('local agent resources for mezzo up', () => {
  const machine: MachineFacts = { cpus: 3, memMb: 8192, diskMb: 50_000 };

  for (const count of [1, 2, 3, 7]) {
    it(`splits the machine among ${count} agents with disjoint port slices and sums no larger than the whole`, () => {
      const whole = detectResources(machine);
      const shares = Array.from({ length: count }, (_, i) =>
        R.parseResources(localAgentResources(machine, count, i)),
      );
      const total = shares.reduce((sum, s) => R.add(sum, s), [] as ReturnType<typeof R.parseResources>);
      expect(R.contains(whole, total)).toBe(true);
      const slices = shares.map((s) => R.ranges(s, 'ports'));
      const overlaps = (a: Range[], b: Range[]) =>
        a.some(([b0, e0]) => b.some(([b1, e1]) => b0 <= e1 && b1 <= e0));
      for (let i = 0; i < count; i++)
        for (let j = i + 1; j < count; j++) expect(overlaps(slices[i], slices[j])).toBe(false);
      expect(slices.reduce((n, r) => n + R.rangeSize(r), 0)).toBe(1001);
      // Every share is about 1/count of the whole.
      for (const s of shares) expect(R.scalar(s, 'mem')).toBe(Math.floor(7168 / count));
    });
  }

  it('gives 2 agents of a 3-core machine 1.5 cpus and half the ports each', () => {
    // mem = (8192 - 1024) / 2; disk = (50000 - 5120) / 2; ports 1001 / 2 = 500, the last slice takes the odd one
    expect(localAgentResources(machine, 2, 0)).toBe('cpus:1.5;disk:22440;mem:3584;ports:[31000-31499]');
    expect(localAgentResources(machine, 2, 1)).toBe('cpus:1.5;disk:22440;mem:3584;ports:[31500-32000]');
  });

  it('rounds cpus down so that thirds never add up to more than the machine', () => {
    // 2 / 3 = 0.6666..., floored to 0.666; 3 * 0.666 = 1.998 <= 2
    expect(localAgentResources({ cpus: 2, memMb: 4096, diskMb: 20_000 }, 3, 2)).toMatch(/^cpus:0\.666;/);
  });

  it('refuses an index outside the count', () => {
    expect(() => localAgentResources(machine, 2, 2)).toThrow(RangeError);
    expect(() => localAgentResources(machine, 0, 0)).toThrow(RangeError);
  });
});
