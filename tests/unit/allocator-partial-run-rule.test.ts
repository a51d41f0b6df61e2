import { describe, expect, it } from 'vitest';
import { type FullRun, mayRunPartially, NO_FULL_RUN } from '../../actors/master/allocator/partial-run.js';

const last: FullRun = { candidates: 4, quota: 7, bits: 2, until: 1000 };
const same = { candidates: 4, quota: 7, bits: 2 };

describe('whether an allocation run may visit only the agents that changed', () => {
  it.each([
    { why: 'nothing else changed', epochs: same, time: 999, guarantee: false, partial: true },
    {
      why: 'a framework may newly take',
      epochs: { ...same, candidates: 5 },
      time: 0,
      guarantee: false,
      partial: false,
    },
    {
      why: 'quota or an allocation under quota changed',
      epochs: { ...same, quota: 8 },
      time: 0,
      guarantee: false,
      partial: false,
    },
    {
      why: 'a filter was dropped early',
      epochs: { ...same, bits: 3 },
      time: 0,
      guarantee: false,
      partial: false,
    },
    { why: 'a skip record ran out', epochs: same, time: 1000, guarantee: false, partial: false },
    { why: 'a guarantee is unmet', epochs: same, time: 0, guarantee: true, partial: false },
  ])('$partial when $why', ({ epochs, time, guarantee, partial }) => {
    expect(mayRunPartially(last, epochs, time, guarantee)).toBe(partial);
  });

  it('never before a first full run', () => {
    expect(mayRunPartially(NO_FULL_RUN, { candidates: -1, quota: -1, bits: -1 }, 0, false)).toBe(false);
  });
});
