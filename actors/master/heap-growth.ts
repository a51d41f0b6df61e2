import { setFlagsFromString } from 'node:v8';

/*
 * V8 lets the heap grow after a full collection by a factor it picks from how fast the program
 * allocates against how fast it collects: for a master, whose heap is mostly its records and whose
 * allocation rate is modest, it picks about 1.1-1.3. A master with 500 MB of records then runs a
 * full collection each time ~100 MB more has been allocated and promoted, and each costs 0.3-0.5 s
 * of marking on its main thread when the cores are busy (measured at 40,000 agents: GET_STATE
 * calls that took 1.2-1.8 s instead of 0.45-0.85 s, launches waiting as long). A master process
 * lets its heap grow to twice what is live instead: a fifth as many full collections, for memory
 * a master host has.
 */

/** The master process's default: the heap may grow by 100 % of what is live before a full collection. */
export const MASTER_HEAP_GROWTH_PERCENT = 100;

/** heapGrowthPercent reads MEZZO_MASTER_HEAP_GROWTH_PERCENT (0: V8 chooses) over the default. */
export function heapGrowthPercent(env: NodeJS.ProcessEnv): number {
  const raw = env.MEZZO_MASTER_HEAP_GROWTH_PERCENT;
  if (raw === undefined || raw === '') return MASTER_HEAP_GROWTH_PERCENT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 1000)
    throw new Error(`MEZZO_MASTER_HEAP_GROWTH_PERCENT must be a whole number from 0 to 1000, got "${raw}"`);
  return n;
}

/** setHeapGrowth applies a growth percent to this process's heap (0: V8's own choice). */
export function setHeapGrowth(percent: number): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
