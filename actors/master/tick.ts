import { AgentStatus, FrameworkStatus, type Offer } from '../../protocol/index.js';
import { removeAgent } from './agent-messages.js';
import { addOffer, removeFramework, rescindOffer } from './bookkeeping.js';
import type { Effect } from './effects.js';
import type { MasterState } from './state.js';

/**
 * tick does the master's time-driven work: agents that stopped heartbeating become unreachable,
 * silent frameworks disconnect and are removed after their failover timeout, stale offers are
 * rescinded, and connected frameworks get their heartbeat. (The allocator drops expired filters
 * itself at each run.)
 */
export function tick(state: MasterState, now: number): Effect[] {
  const effects: Effect[] = [];
  const cfg = state.config;
  const agentDeadline = cfg.agentPingTimeoutSeconds * 1000 * cfg.maxAgentPingTimeouts;
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
      state.allocator.deactivateFramework(fw.info.id);
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
  return effects;
}

/**
 * runAllocation runs the allocator once and makes its offers, one OFFERS event per framework. An
 * allocation for an agent or framework the master no longer serves goes straight back.
 */
export function runAllocation(state: MasterState, now: number): Effect[] {
  const byFramework = new Map<string, Offer[]>();
  for (const a of state.allocator.allocate(now)) {
    const agent = state.agents.get(a.agentId);
    const fw = state.frameworks.get(a.frameworkId);
    if (agent?.status !== AgentStatus.ACTIVE || fw?.status !== FrameworkStatus.CONNECTED) {
      state.allocator.recover(a.frameworkId, a.role, a.agentId, a.resources);
      continue;
    }
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
