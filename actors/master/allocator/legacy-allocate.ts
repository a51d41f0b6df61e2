import { Capability, resources as R, type Resources } from '../../../protocol/index.js';
import { dominantShare, isAllocatable } from './drf.js';
import type { Allocation } from './types.js';

/** AllocatorAgent is what the allocator sees of an agent. */
export interface AllocatorAgent {
  id: string;
  total: Resources;
  /** total minus used minus offered. */
  available: Resources;
}

/** AllocatorFramework is what the allocator sees of a framework. */
export interface AllocatorFramework {
  id: string;
  roles: string[];
  suppressedRoles: ReadonlySet<string>;
  capabilities: readonly string[];
  /** used + offered, for its dominant share. */
  allocated: Resources;
}

/** AllocatorFilter is a refusal still in force. */
export interface AllocatorFilter {
  frameworkId: string;
  role: string;
  agentId: string;
  resources: Resources;
}

/** ClusterView is the allocator's whole input: an immutable picture of the cluster. */
export interface ClusterView {
  agents: readonly AllocatorAgent[];
  frameworks: readonly AllocatorFramework[];
  filters: readonly AllocatorFilter[];
  /** Resources not counted in shares (default gpus). */
  fairSharingExcluded?: readonly string[];
  /** An offer must hold at least one of these (Mesos `cpus:0.01|mem:32`). */
  minAllocatable?: readonly Resources[];
}

function isFiltered(
  view: ClusterView,
  frameworkId: string,
  role: string,
  agentId: string,
  offer: Resources,
): boolean {
  return view.filters.some(
    (f) =>
      f.frameworkId === frameworkId &&
      f.role === role &&
      f.agentId === agentId &&
      R.contains(f.resources, offer),
  );
}

/**
 * @deprecated The first allocator, kept only so that the master builds until it drives
 * HierarchicalAllocator; delete it then.
 *
 * allocate decides one allocation run: each agent with allocatable resources goes, whole, to the
 * (framework, role) with the lowest dominant share that may take it (not suppressed, not filtered,
 * GPU-capable for GPU agents). Shares are updated as the run goes, so a run spreads agents across
 * frameworks. Agents are visited in the order given (the caller shuffles); ties break by id.
 */
export function allocate(view: ClusterView): Allocation[] {
  const excluded = view.fairSharingExcluded ?? ['gpus'];
  const clusterTotal = R.scalars(view.agents.flatMap((a) => a.total));
  const allocated = new Map(view.frameworks.map((f) => [f.id, f.allocated]));
  const out: Allocation[] = [];
  for (const agent of view.agents) {
    if (!isAllocatable(agent.available, view.minAllocatable)) continue;
    const hasGpus = R.scalar(agent.total, 'gpus') > 0;
    const candidates = view.frameworks
      .filter((f) => !hasGpus || f.capabilities.includes(Capability.GPU_RESOURCES))
      .map((f) => ({ f, share: dominantShare(allocated.get(f.id) ?? [], clusterTotal, excluded) }))
      .sort((a, b) => a.share - b.share || (a.f.id < b.f.id ? -1 : a.f.id > b.f.id ? 1 : 0));
    pick: for (const { f } of candidates) {
      for (const role of f.roles) {
        if (f.suppressedRoles.has(role)) continue;
        const offer = R.usableBy(agent.available, role);
        if (!isAllocatable(offer, view.minAllocatable)) continue;
        if (isFiltered(view, f.id, role, agent.id, offer)) continue;
        out.push({ frameworkId: f.id, role, agentId: agent.id, resources: offer });
        allocated.set(f.id, R.add(allocated.get(f.id) ?? [], offer));
        break pick;
      }
    }
  }
  return out;
}
