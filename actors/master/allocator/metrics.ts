/** AllocatorMetrics is the allocator's plain-object report (Mesos `allocator/*` metrics). */
export interface AllocatorMetrics {
  /** allocator/allocation_runs: completed allocation runs. */
  allocationRuns: number;
  /** Duration of the last run (ms); only with a `timer` in the options. */
  lastAllocationRunMs?: number;
  /** Median and 99th percentile run duration over the last 100 runs (ms); only with a `timer`. */
  allocationRunMsP50?: number;
  allocationRunMsP99?: number;
  /** Offers made by the last run. */
  lastRunOffers: number;
  /** Agents the last run looked at, and those it skipped as unchanged and refused by everyone. */
  lastRunAgentsVisited: number;
  lastRunAgentsSkipped: number;
  agents: number;
  frameworks: number;
  /** Dominant share of each role's subtree (unweighted), by role. */
  roleShares: Record<string, number>;
  /** Offered and not yet used or recovered, scalar sums by name (the protocol's units). */
  offered: Record<string, number>;
  /** (framework, role, agent) triples that hold offered resources. */
  outstandingOffers: number;
  /** Refusal filters in force. */
  activeFilters: number;
}

/** percentile picks the p-th percentile (0..100, nearest rank) of some numbers; 0 when there are none. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** RunTimes keeps the durations of the last `size` runs. */
export class RunTimes {
  private readonly xs: number[] = [];
  private next = 0;
  constructor(private readonly size = 100) {}
  push(ms: number): void {
    if (this.xs.length < this.size) this.xs.push(ms);
    else this.xs[this.next] = ms;
    this.next = (this.next + 1) % this.size;
  }
  values(): readonly number[] {
    return this.xs;
  }
}
