import { AgentStatus, FrameworkStatus } from '../../protocol/index.js';
import { type Registry, RegistryAgentStatus } from './registry.js';
import type { MasterState } from './state.js';
import { TaskMap } from './task-map.js';

/** RestoreReport says what a new leader took over from the registry. */
export interface RestoreReport {
  /** Admitted agents it waits for (they were active under the last leader). */
  recovering: number;
  unreachable: number;
  gone: number;
  frameworks: number;
  /** Weights or quota the allocator refused (logged by the caller; the rest was restored). */
  refused: string[];
}

/**
 * restoreFromRegistry seeds a fresh master state from the registry, as a new leader does before
 * it serves: weights and quota go to the allocator; agents that were active are kept as
 * unreachable records listed in `state.recovering` until they re-register (reconciliation gives
 * no answer for their tasks meanwhile); unreachable and gone agents keep their standing; and
 * frameworks come back disconnected, with their failover timeout counted from the end of the
 * re-registration window (`graceUntil`), so that no framework is removed, and no task killed,
 * because of the failover itself.
 */
export function restoreFromRegistry(
  state: MasterState,
  reg: Registry,
  now: number,
  graceUntil: number,
): RestoreReport {
  const report: RestoreReport = { recovering: 0, unreachable: 0, gone: 0, frameworks: 0, refused: [] };
  try {
    if (Object.keys(reg.weights).length > 0) state.allocator.updateWeights(reg.weights);
  } catch (err) {
    report.refused.push(`weights: ${(err as Error).message}`);
  }
  for (const [role, q] of Object.entries(reg.quotas)) {
    try {
      state.allocator.updateQuota(role, q);
    } catch (err) {
      report.refused.push(`quota ${role}: ${(err as Error).message}`);
    }
  }
  const recovering = new Set<string>();
  for (const a of reg.agents.values()) {
    const gone = a.status === RegistryAgentStatus.GONE;
    state.agents.set(a.info.id, {
      info: a.info,
      status: gone ? AgentStatus.REMOVED : AgentStatus.UNREACHABLE,
      ...(gone ? { gone: true } : {}),
      registeredAt: now,
      lastSeenAt: a.unreachableSince ?? now,
      total: a.total,
      used: [],
      offered: [],
      tasks: new Set(),
      offers: new Set(),
    });
    if (a.status === RegistryAgentStatus.ACTIVE) recovering.add(a.info.id);
    if (gone) report.gone++;
    else if (a.status === RegistryAgentStatus.UNREACHABLE) report.unreachable++;
  }
  report.recovering = recovering.size;
  state.recovering = recovering;
  for (const info of reg.frameworks.values()) {
    state.frameworks.set(info.id, {
      info,
      status: FrameworkStatus.DISCONNECTED,
      subscribedAt: now,
      lastSeenAt: now,
      // The failover timeout runs from the end of the re-registration window, not from the failover.
      disconnectedAt: Math.max(now, graceUntil),
      nextHeartbeatAt: now,
      used: [],
      offered: [],
      tasks: new TaskMap(),
      completed: [],
      offers: new Set(),
    });
    report.frameworks++;
  }
  return report;
}
