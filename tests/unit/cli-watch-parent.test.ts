import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchParent } from '../../cli/shutdown.js';

describe('watchParent', () => {
  afterEach(() => vi.useRealTimers());

  it('requests a stop once the parent pid changes, and not before', () => {
    vi.useFakeTimers();
    let ppid = 100;
    const reasons: string[] = [];
    const stop = watchParent({ request: (r) => void reasons.push(r) }, 500, () => ppid);
    vi.advanceTimersByTime(1500);
    expect(reasons).toEqual([]);
    ppid = 1;
    vi.advanceTimersByTime(500);
    expect(reasons).toEqual(['parent process exited']);
    stop();
  });
});
