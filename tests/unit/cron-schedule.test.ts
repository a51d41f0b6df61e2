import { describe, expect, it } from 'vitest';
import { concurrency, due, latestRun, nextRun, prunedHistory, runName } from '../../frameworks/cron/index.js';

const at = (iso: string) => Date.parse(iso);

describe('cron schedule decisions', () => {
  it('finds the latest and next run, with seconds and in a time zone', () => {
    expect(latestRun('*/10 * * * * *', 'UTC', at('2026-01-01T00:00:35.500Z'))).toBe(
      at('2026-01-01T00:00:30Z'),
    );
    expect(nextRun('*/10 * * * * *', 'UTC', at('2026-01-01T00:00:35Z'))).toBe(at('2026-01-01T00:00:40Z'));
    // 09:00 in New York is 14:00 UTC in winter.
    expect(nextRun('0 9 * * *', 'America/New_York', at('2026-01-01T00:00:00Z'))).toBe(
      at('2026-01-01T14:00:00Z'),
    );
  });

  it('fires a run once: not again after lastScheduled has moved to it', () => {
    const now = at('2026-01-01T00:00:31Z');
    expect(due('*/10 * * * * *', 'UTC', at('2026-01-01T00:00:20Z'), now)).toEqual({
      kind: 'fire',
      at: at('2026-01-01T00:00:30Z'),
    });
    expect(due('*/10 * * * * *', 'UTC', at('2026-01-01T00:00:30Z'), now)).toEqual({ kind: 'none' });
  });

  it('misses a run older than the starting deadline, and fires only the newest of several missed', () => {
    const now = at('2026-01-01T00:01:07Z');
    // Last fired at 00:00:10; 00:00:20 ... 00:01:00 are due; only 00:01:00 is considered, 7 s late.
    expect(due('*/10 * * * * *', 'UTC', at('2026-01-01T00:00:10Z'), now, 5)).toEqual({
      kind: 'missed',
      at: at('2026-01-01T00:01:00Z'),
      lateMs: 7000,
    });
    expect(due('*/10 * * * * *', 'UTC', at('2026-01-01T00:00:10Z'), now, 10)).toEqual({
      kind: 'fire',
      at: at('2026-01-01T00:01:00Z'),
    });
    expect(due('*/10 * * * * *', 'UTC', at('2026-01-01T00:00:10Z'), now)).toEqual({
      kind: 'fire',
      at: at('2026-01-01T00:01:00Z'),
    });
  });

  it('applies the concurrency policy only when a run is still active', () => {
    expect(concurrency('forbid', 0)).toBe('run');
    expect(concurrency('forbid', 1)).toBe('skip');
    expect(concurrency('replace', 1)).toBe('replace');
    expect(concurrency('allow', 3)).toBe('run');
  });

  it('names a run after its scheduled second, and prunes finished runs beyond the history limits', () => {
    expect(runName('tick', at('2026-01-01T00:00:30Z'))).toBe('tick-1767225630');
    const runs = [
      { job: 'a', scheduledAt: 1, phase: 'Succeeded' },
      { job: 'b', scheduledAt: 2, phase: 'Failed' },
      { job: 'c', scheduledAt: 3, phase: 'Succeeded' },
      { job: 'd', scheduledAt: 4, phase: 'Failed' },
      { job: 'e', scheduledAt: 5, phase: 'Running' },
    ];
    expect(prunedHistory(runs, 1, 1)).toEqual(['a', 'b']);
    expect(prunedHistory(runs, 0, 0)).toEqual(['c', 'a', 'd', 'b']);
  });
});
