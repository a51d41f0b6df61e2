import { defaultLeaseTiming, type LeaseTiming } from '../../bus/lease-decision.js';
import type { MasterEvent } from './machine.js';
import type { RegistryScope } from './registry-diff.js';

/** LeadershipConfig tunes a highly available master; every field has a default. */
export interface LeadershipConfig {
  lease: LeaseTiming;
  /** Replicas of the lease bucket and the registry stream: 3 on a 3-node NATS cluster. */
  replicas: number;
  /** After a failover, agents that have not re-registered within this become unreachable (ms). */
  reregisterTimeoutMs: number;
  /** Allocation resumes once this fraction of the agents known from the registry is back. */
  reregisterFraction: number;
  /** How often the leader announces itself on `leader()` (ms). */
  announceEveryMs: number;
  /** How often a standby brings its copy of the registry up to date (ms): a warm standby. */
  standbyRefreshMs: number;
}

/**
 * defaultLeadershipConfig: the default lease (5 s, see leaseTimingFor); allocation waits for
 * 80 % of agents, or 60 s.
 */
export function defaultLeadershipConfig(overrides: Partial<LeadershipConfig> = {}): LeadershipConfig {
  return {
    lease: defaultLeaseTiming,
    replicas: 1,
    reregisterTimeoutMs: 60_000,
    reregisterFraction: 0.8,
    announceEveryMs: 1000,
    standbyRefreshMs: 250,
    ...overrides,
  };
}

/** Recovery is a new leader's wait for the agents it knows from the registry. */
export interface Recovery {
  /** Agents that were active under the last leader. */
  known: number;
  /** Of those, how many have not re-registered yet. */
  pending: number;
  startedAt: number;
}

/**
 * mayAllocate says whether a new leader may make offers: once most known agents are back (the
 * configured fraction), or the re-registration window is over. Offering earlier would hand out
 * resources that tasks on agents not yet back may still hold.
 */
export function mayAllocate(r: Recovery, now: number, cfg: LeadershipConfig): boolean {
  if (r.pending === 0 || r.known === 0) return true;
  if (now - r.startedAt >= cfg.reregisterTimeoutMs) return true;
  return (r.known - r.pending) / r.known >= cfg.reregisterFraction;
}

/**
 * allocationRunDue says whether an allocation run asked for by an event may start now. While
 * agents are still coming back after a failover each REGISTER asks for a run over every agent, so
 * runs are kept at most two per interval then (the interval's timer catches up on one skipped);
 * otherwise every asked-for run is due.
 */
export function allocationRunDue(
  recovering: boolean,
  now: number,
  lastRunAt: number,
  intervalMs: number,
): boolean {
  return !recovering || now - lastRunAt >= intervalMs / 2;
}

/** recoveryOver says whether agents still missing should now be marked unreachable. */
export function recoveryOver(r: Recovery, now: number, cfg: LeadershipConfig): boolean {
  return r.pending > 0 && now - r.startedAt >= cfg.reregisterTimeoutMs;
}

/**
 * registryScope says where an event may have changed what the registry holds, or undefined when
 * it cannot have: status updates, launches, acknowledgements and reads never touch the registry,
 * so the hot paths write nothing replicated. A REGISTER only ever adds the frameworks it reports
 * that the master does not know (`knownFramework`, asked before the event), so only those are in
 * its scope: after a failover each of 10,000 REGISTERs compared five framework infos otherwise.
 */
export function registryScope(
  e: MasterEvent,
  knownFramework: (frameworkId: string) => boolean = () => false,
): RegistryScope | undefined {
  switch (e.type) {
    case 'SCHEDULER_CALL':
      switch (e.call.type) {
        case 'SUBSCRIBE':
        case 'TEARDOWN':
          return { frameworks: [e.frameworkId] };
        case 'ACCEPT':
          // Reservations change an agent's total; launches alone change nothing persisted.
          return e.call.operations.some((op) => op.type !== 'LAUNCH') ? { agents: 'all' } : undefined;
        default:
          return undefined;
      }
    case 'AGENT_MESSAGE':
      if (e.msg.type === 'REGISTER') {
        const added = e.msg.frameworks.filter((f) => !knownFramework(f.id)).map((f) => f.id);
        return added.length > 0 ? { agents: [e.agentId], frameworks: added } : { agents: [e.agentId] };
      }
      return e.msg.type === 'UNREGISTER' ? { agents: [e.agentId] } : undefined;
    case 'OPERATOR_CALL':
      return e.call.type.startsWith('GET_') ? undefined : { agents: 'all', frameworks: 'all', roles: true };
    case 'TICK':
      return { agents: 'all', frameworks: 'all' };
    default:
      return undefined;
  }
}
