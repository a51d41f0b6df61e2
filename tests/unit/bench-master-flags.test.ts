import { describe, expect, it } from 'vitest';
import { MASTER_YOUNG_GENERATION, masterNodeFlags } from '../../bench/common/master-process.js';

describe('the node flags of a bench master', () => {
  it('gives the master a 64 MiB young generation by default, before the caller flags', () => {
    expect(masterNodeFlags()).toEqual(['--max-semi-space-size=64']);
    expect(masterNodeFlags(['--cpu-prof'])).toEqual([MASTER_YOUNG_GENERATION, '--cpu-prof']);
  });

  it('keeps a semi-space size the caller chose, and adds none', () => {
    expect(masterNodeFlags(['--max-semi-space-size=8', '--trace-gc'])).toEqual([
      '--max-semi-space-size=8',
      '--trace-gc',
    ]);
  });
});
