import { resources as R, type Resources } from '../../protocol/index.js';

/**
 * tasksThatFit is how many tasks of size `each` one offer holds, counting the scalars (cpus, mem,
 * disk, gpus) the task asks for; a task that asks for nothing fits any number of times, so the
 * answer is capped by `max`.
 */
export function tasksThatFit(offered: Resources, each: Resources, max: number): number {
  let n = max;
  for (const [name, want] of Object.entries(R.scalars(each))) {
    if (want <= 0) continue;
    // Scalars are fixed point to three decimals: compare in thousandths to avoid 0.1 + 0.2 drift.
    const have = Math.round(R.scalar(offered, name) * 1000);
    n = Math.min(n, Math.floor(have / Math.round(want * 1000)));
  }
  return Math.max(0, n);
}
