import { defaultMasterConfig } from '../../actors/master/config.js';
import {
  applyRegistryOps,
  emptyRegistry,
  type Registry,
  type RegistryOp,
} from '../../actors/master/registry.js';
import { restoreFromRegistry } from '../../actors/master/registry-restore.js';
import { createMasterState, type MasterState } from '../../actors/master/state.js';
import { AgentInfo, FrameworkInfo, resources as R } from '../../protocol/index.js';

/** SeededCluster is what the in-process benches start from: frameworks, agents and their registry. */
export interface SeededCluster {
  frameworks: FrameworkInfo[];
  agents: AgentInfo[];
  registry: Registry;
}

/**
 * seedCluster makes the registry a master would hold for `agents` agents (32 cpus, 128 GiB,
 * BATCHING) and 5 frameworks, as a new leader finds it after a failover. Ids are
 * `<agentPrefix><i>` and `<frameworkPrefix><i>`.
 */
export function seedCluster(
  agents: number,
  ids: { agentPrefix: string; frameworkPrefix: string } = { agentPrefix: 'a-', frameworkPrefix: 'f-' },
): SeededCluster {
  const frameworks = Array.from({ length: 5 }, (_, i) =>
    FrameworkInfo.parse({
      id: `${ids.frameworkPrefix}${i}`,
      name: `${ids.frameworkPrefix}${i}`,
      roles: ['*'],
      failoverTimeoutSeconds: 3600,
    }),
  );
  const infos = Array.from({ length: agents }, (_, i) =>
    AgentInfo.parse({
      id: `${ids.agentPrefix}${i}`,
      hostname: `${ids.agentPrefix}${i}.local`,
      resources: R.parseResources('cpus:32;mem:131072'),
      version: '0.1.0',
      capabilities: ['BATCHING'],
    }),
  );
  const ops: RegistryOp[] = [
    ...frameworks.map((framework) => ({ type: 'FRAMEWORK_ADDED' as const, framework })),
    ...infos.map((agent) => ({ type: 'AGENT_ADMITTED' as const, agent, total: agent.resources })),
  ];
  return { frameworks, agents: infos, registry: applyRegistryOps(emptyRegistry(), ops) };
}

/** restoredMaster is a fresh master state restored from a seeded registry, as a new leader's. */
export function restoredMaster(registry: Registry): MasterState {
  const state = createMasterState(defaultMasterConfig({ masterId: 'm-bench' }), 2000, {
    agentOrder: 'added',
  });
  restoreFromRegistry(state, registry, 2000, 62_000);
  return state;
}
