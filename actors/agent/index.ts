/** The agent: one per machine; runs tasks through executors and relays their status updates reliably. */

export {
  type AgentContext,
  type AgentSettings,
  createAgentContext,
  type TaskRecord,
  taskKey,
} from './agent-state.js';
export type { AgentEffect, ExecutorLaunch } from './effects.js';
export { loadIdentity, newAgentId, resolveIdentity, type StoredIdentity } from './identity.js';
export { type AgentEvent, agentMachine, route } from './machine.js';
export { type MachineFacts, readMachineFacts } from './machine-facts.js';
export { type RegistrationRequest, registrationRequest } from './registration.js';
export { DEFAULT_PORTS, detectResources, localAgentResources } from './resource-detection.js';
export { startAgent } from './runtime.js';
export * as statusUpdateQueue from './status-update-queue.js';
export type { AgentConfig, AgentHandle, AgentOptions } from './types.js';
