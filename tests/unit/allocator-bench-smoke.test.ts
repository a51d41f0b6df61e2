import { describe, expect, it } from 'vitest';
import {
  machine,
  resultsMarkdown,
  runGrid,
  SMOKE_GRID,
  SMOKE_ROUNDS,
  skipReason,
} from '../../bench/allocator/index.js';

const LINE =
  /^allocator agents=(\d+) frameworks=(\d+) cycle_ms_p50=\d+(\.\d+)? cycle_ms_p99=\d+(\.\d+)?( [a-z0-9_]+=\S+)*$/;

describe('the allocator benchmark smoke run', () => {
  it('prints one summary line per grid point in the benchmark format', () => {
    const seen: string[] = [];
    const outcome = runGrid(SMOKE_GRID, { rounds: SMOKE_ROUNDS }, (line) => seen.push(line));
    expect(seen).toEqual(outcome.lines);
    expect(seen).toHaveLength(SMOKE_GRID.length);
    seen.forEach((line, i) => {
      expect(line).toMatch(LINE);
      const [, agents, frameworks] = LINE.exec(line) ?? [];
      expect([Number(agents), Number(frameworks)]).toEqual([SMOKE_GRID[i].agents, SMOKE_GRID[i].frameworks]);
    });
    // every round declines every offer, so each round offers every agent to a new framework
    for (const r of outcome.results) {
      expect(r.offerRounds).toBe(SMOKE_ROUNDS);
      expect(r.offersP50).toBe(r.agents);
    }
  });

  it('reaches the idle rounds where every agent is filtered by every framework', () => {
    const [r] = runGrid([{ agents: 50, frameworks: 5 }], { rounds: 'full' }).results;
    // 2 x 5 rounds: 5 make offers (each agent to each framework once), 5 find everyone filtered
    expect([r.rounds, r.offerRounds]).toEqual([10, 5]);
    expect(r.idleMsP50).toBeDefined();
  });

  it('renders a results table with the machine and says what it skipped', () => {
    expect(skipReason({ agents: 50_000, frameworks: 3_000 }, { rounds: 'full' })).toContain('filters');
    const outcome = runGrid([{ agents: 20, frameworks: 2 }], { rounds: 2 });
    outcome.skipped.push({ point: { agents: 50_000, frameworks: 3_000 }, reason: 'too big' });
    const md = resultsMarkdown(outcome, machine(new Date('2030-01-02T03:04:05Z')), 'Smoke.');
    expect(md).toContain('## allocator (DeclineOffers), 2030-01-02');
    expect(md).toContain(`Node ${process.version}`);
    expect(md).toMatch(/\| 20 \| 2 \| [\d.]+ \| [\d.]+ \|/);
    expect(md).toContain('- skipped 50000 agents x 3000 frameworks: too big');
  });
});
