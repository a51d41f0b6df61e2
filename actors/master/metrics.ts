import {
  AgentStatus,
  FrameworkStatus,
  type OperatorResult,
  resources as R,
  TaskState,
} from '../../protocol/index.js';
import type { MasterState } from './state.js';

const SCALARS = ['cpus', 'mem', 'disk', 'gpus'] as const;

/**
 * metricsView answers GET_METRICS with flat, Mesos-named numbers: the master's counts
 * (`master/agents_active`, `master/tasks_running`, `master/cpus_percent`...) and the allocator's
 * (`allocator/allocation_runs`, `allocator/allocation_run_ms`, per-role dominant shares...).
 * Percentages are fractions (0..1), as in Mesos; tasks in terminal states count those still kept.
 */
export function metricsView(state: MasterState, now: number): OperatorResult<'GET_METRICS'> {
  const m: Record<string, number> = {
    'master/elected': 1,
    'master/uptime_secs': Math.max(0, (now - state.startedAt) / 1000),
  };
  const agents = [...state.agents.values()];
  const active = agents.filter((a) => a.status === AgentStatus.ACTIVE);
  m['master/agents_active'] = active.length;
  m['master/agents_unreachable'] = agents.filter((a) => a.status === AgentStatus.UNREACHABLE).length;
  m['master/agents_removed'] = agents.filter((a) => a.status === AgentStatus.REMOVED).length;
  const frameworks = [...state.frameworks.values()];
  m['master/frameworks_active'] = frameworks.filter((f) => f.status === FrameworkStatus.CONNECTED).length;
  m['master/frameworks_inactive'] = frameworks.filter(
    (f) => f.status === FrameworkStatus.DISCONNECTED,
  ).length;
  m['master/frameworks_removed'] = frameworks.filter((f) => f.status === FrameworkStatus.REMOVED).length;
  m['master/outstanding_offers'] = state.offers.size;
  m['master/agent_registrations'] = state.registrations.registered;
  m['master/agent_reregistrations'] = state.registrations.reregistered;
  m['master/agent_reregistrations_by_digest'] = state.registrations.byDigest;
  m['master/agent_digest_mismatches'] = state.registrations.digestMismatches;
  const taskMetric = (s: string) => `master/tasks_${s.replace(/^TASK_/, '').toLowerCase()}`;
  for (const s of Object.values(TaskState)) m[taskMetric(s)] = 0;
  for (const f of frameworks) {
    for (const t of [...f.tasks.values(), ...f.completed]) m[taskMetric(t.status.state)]++;
  }
  const total = R.scalars(active.flatMap((a) => a.total));
  const used = R.scalars(active.flatMap((a) => a.used));
  for (const name of SCALARS) {
    const t = total[name] ?? 0;
    const u = used[name] ?? 0;
    m[`master/${name}_total`] = t;
    m[`master/${name}_used`] = u;
    m[`master/${name}_percent`] = t > 0 ? u / t : 0;
  }
  const a = state.allocator.metrics(now);
  m['allocator/allocation_runs'] = a.allocationRuns;
  m['allocator/allocation_run_ms'] = a.lastAllocationRunMs ?? 0;
  if (a.allocationRunMsP50 !== undefined) m['allocator/allocation_run_ms/p50'] = a.allocationRunMsP50;
  if (a.allocationRunMsP99 !== undefined) m['allocator/allocation_run_ms/p99'] = a.allocationRunMsP99;
  m['allocator/last_run_offers'] = a.lastRunOffers;
  m['allocator/last_run_agents_visited'] = a.lastRunAgentsVisited;
  m['allocator/last_run_agents_skipped'] = a.lastRunAgentsSkipped;
  m['allocator/outstanding_offers'] = a.outstandingOffers;
  m['allocator/active_filters'] = a.activeFilters;
  for (const [name, x] of Object.entries(a.offered)) m[`allocator/offered/${name}`] = x;
  for (const [role, share] of Object.entries(a.roleShares)) {
    m[`allocator/roles/${role}/shares/dominant`] = share;
  }
  return { metrics: m };
}
