import { randomUUID } from 'node:crypto';
import type { MasterConfig } from './types.js';

/** defaultMasterConfig returns the Mesos-like defaults, with a fresh master id. */
export function defaultMasterConfig(overrides: Partial<MasterConfig> = {}): MasterConfig {
  return {
    masterId: `m-${randomUUID().replaceAll('-', '').slice(0, 12)}`,
    allocationIntervalMs: 1000,
    agentPingTimeoutSeconds: 15,
    maxAgentPingTimeouts: 5,
    frameworkHeartbeatIntervalSeconds: 15,
    offerTimeoutMs: 0,
    maxCompletedTasksPerFramework: 1000,
    ...overrides,
  };
}
