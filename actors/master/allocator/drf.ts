import { resources as R, type Resources } from '../../../protocol/index.js';

/** DEFAULT_FAIR_SHARING_EXCLUDED names resources left out of dominant shares (Mesos `--fair_sharing_excluded_resource_names`). */
export const DEFAULT_FAIR_SHARING_EXCLUDED: readonly string[] = Object.freeze(['gpus']);

/** DEFAULT_MIN_ALLOCATABLE is Mesos's `cpus:0.01|mem:32`: an offer must hold one of these. */
export const DEFAULT_MIN_ALLOCATABLE: readonly Resources[] = Object.freeze([
  [{ name: 'cpus', scalar: 0.01 }],
  [{ name: 'mem', scalar: 32 }],
]);

/**
 * dominantShare is the largest fraction of any one resource that `allocated` holds of the
 * cluster's total, ignoring excluded names and names the cluster has none of.
 * `cpus 2/10 = .2, mem 512/1024 = .5 -> .5`.
 */
export function dominantShare(
  allocated: Resources,
  clusterTotal: Readonly<Record<string, number>>,
  excluded: readonly string[] = DEFAULT_FAIR_SHARING_EXCLUDED,
): number {
  let share = 0;
  for (const [name, amount] of Object.entries(R.scalars(allocated))) {
    const total = clusterTotal[name];
    if (!total || excluded.includes(name)) continue;
    share = Math.max(share, amount / total);
  }
  return share;
}

/** isAllocatable tells whether resources, whatever their roles, meet one of the minimums. */
export function isAllocatable(
  rs: Resources,
  minimums: readonly Resources[] = DEFAULT_MIN_ALLOCATABLE,
): boolean {
  const plain = R.unreserve(rs);
  return minimums.some((min) => R.contains(plain, min));
}
