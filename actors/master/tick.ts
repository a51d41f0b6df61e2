import { AgentStatus, FrameworkStatus, type Offer, resources as R } from '../../protocol/index.js';
import { removeAgent } from './agent-messages.js';
import { allocate, type ClusterView } from './allocator/index.js';
import { addOffer, removeFramework, rescindOffer } from './bookkeeping.js';
import type { Effect } from './effects.js';
import type { MasterState } from './state.js';

/**
 * tick does the master's time-driven work: agents that stopped heartbeating become unreachable,
 * silent frameworks disconnect and are removed after their failover timeout, stale offers are
 * rescinded, expired filters dropped, and connected frameworks get their heartbeat.
 */
export function tick(state: MasterState, now: number): Effect[] {
  const effects: Effect[] = [];
  const cfg = state.config;
  const agentDeadline = cfg.agentHeartbeatIntervalSeconds * 1000 * cfg.maxMissedAgentHeartbeats;
  for (const agent of state.agents.values()) {
    if (agent.status === AgentStatus.ACTIVE && now - agent.lastSeenAt > agentDeadline) {
      effects.push(...removeAgent(state, agent, AgentStatus.UNREACHABLE, now));
    }
  }
  const interval = cfg.frameworkHeartbeatIntervalSeconds * 1000;
  for (const fw of state.frameworks.values()) {
    if (fw.status === FrameworkStatus.CONNECTED && now - fw.lastSeenAt > 3 * interval) {
      fw.status = FrameworkStatus.DISCONNECTED;
      fw.disconnectedAt = now;
      for (const offerId of [...fw.offers]) effects.push(...rescindOffer(state, offerId));
    }
    if (
      fw.status === FrameworkStatus.DISCONNECTED &&
      now - (fw.disconnectedAt ?? now) >= fw.info.failoverTimeoutSeconds * 1000
    ) {
      effects.push(...removeFramework(state, fw, now, 'framework failover timeout elapsed'), {
        kind: 'framework',
        frameworkId: fw.info.id,
        event: { type: 'ERROR', message: 'framework was removed: its failover timeout elapsed' },
      });
    }
    if (fw.status === FrameworkStatus.CONNECTED && now >= fw.nextHeartbeatAt) {
      fw.nextHeartbeatAt = now + interval;
      effects.push({ kind: 'framework', frameworkId: fw.info.id, event: { type: 'HEARTBEAT' } });
    }
  }
  if (cfg.offerTimeoutMs > 0) {
    for (const [id, rec] of state.offers) {
      if (now - rec.createdAt >= cfg.offerTimeoutMs)
        effects.push(...rescindOffer(state, id), { kind: 'allocate' });
    }
  }
  state.filters = state.filters.filter((f) => f.expiresAt > now);
  return effects;
}

/** clusterView builds the allocator's input from the master's state. */
export function clusterView(state: MasterState, now: number, shuffle: <T>(xs: T[]) => T[]): ClusterView {
  const agents = shuffle(
    [...state.agents.values()]
      .filter((a) => a.status === AgentStatus.ACTIVE)
      .map((a) => ({
        id: a.info.id,
        total: a.info.resources,
        available: R.subtract(R.subtract(a.info.resources, a.used), a.offered),
      })),
  );
  const frameworks = [...state.frameworks.values()]
    .filter((f) => f.status === FrameworkStatus.CONNECTED)
    .map((f) => ({
      id: f.info.id,
      roles: f.info.roles,
      suppressedRoles: f.suppressedRoles,
      capabilities: f.info.capabilities,
      allocated: R.add(f.used, f.offered),
    }));
  return { agents, frameworks, filters: state.filters.filter((f) => f.expiresAt > now) };
}

/** runAllocation makes the offers of one allocator run and sends them, one OFFERS event per framework. */
export function runAllocation(state: MasterState, now: number, shuffle: <T>(xs: T[]) => T[]): Effect[] {
  const byFramework = new Map<string, Offer[]>();
  for (const a of allocate(clusterView(state, now, shuffle))) {
    const offer = addOffer(state, a, now);
    const list = byFramework.get(a.frameworkId) ?? [];
    list.push(offer);
    byFramework.set(a.frameworkId, list);
  }
  return [...byFramework].map(([frameworkId, offers]) => ({
    kind: 'framework',
    frameworkId,
    event: { type: 'OFFERS', offers },
  }));
}
