import { describe, expect, it } from 'vitest';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { defaultMasterConfig } from '../../actors/master/config.js';
import { applyRegistryOps, emptyRegistry } from '../../actors/master/registry.js';
import { registryDiff } from '../../actors/master/registry-diff.js';
import { restoreFromRegistry } from '../../actors/master/registry-restore.js';
import { createMasterState } from '../../actors/master/state.js';
import { AgentInfo, resources as R } from '../../protocol/index.js';

/**
 * After a failover the new leader's agent records hold the registry's infos. An agent that comes
 * back as the registry knows it keeps that object, so the registry diff (at its REGISTER and at
 * every tick after) sees by identity that nothing changed; a changed agent is still written.
 */
const info = AgentInfo.parse({
  id: 'a1',
  hostname: 'h-a1',
  resources: R.parseResources('cpus:16;mem:4096'),
  attributes: { rack: 'r1' },
  version: '0.1.0',
  capabilities: ['BATCHING'],
});
const registry = applyRegistryOps(emptyRegistry(), [
  { type: 'AGENT_ADMITTED', agent: info, total: info.resources },
]);

function leader() {
  const state = createMasterState(defaultMasterConfig({ masterId: 'm2' }), 5000, { agentOrder: 'added' });
  restoreFromRegistry(state, registry, 5000, 65_000);
  return state;
}

describe('an agent re-registering with the new leader', () => {
  it('keeps the registry’s info object when it reports the same info, and nothing is written', () => {
    const state = leader();
    const registered = structuredClone(info);
    handleAgentMessage(state, 'a1', { type: 'REGISTER', agent: registered, tasks: [], frameworks: [] }, 6000);
    state.recovering?.delete('a1');
    expect(state.agents.get('a1')?.info).toBe(registry.agents.get('a1')?.info);
    expect(registryDiff(registry, state, { agents: ['a1'] }, 6000)).toEqual([]);
    expect(registryDiff(registry, state, { agents: 'all' }, 7000)).toEqual([]);
  });

  it('takes the reported info when it differs, and the registry hears of it', () => {
    const state = leader();
    const moved = { ...structuredClone(info), attributes: { rack: 'r2' } };
    handleAgentMessage(state, 'a1', { type: 'REGISTER', agent: moved, tasks: [], frameworks: [] }, 6000);
    state.recovering?.delete('a1');
    expect(state.agents.get('a1')?.info).toBe(moved);
    expect(registryDiff(registry, state, { agents: ['a1'] }, 6000)).toEqual([
      { type: 'AGENT_ADMITTED', agent: moved, total: info.resources },
    ]);
  });
});
