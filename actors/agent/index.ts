/** The agent: one per machine; runs tasks through executors and relays their status updates reliably. */

export {
  type AgentContext,
  type AgentSettings,
  createAgentContext,
  type TaskRecord,
  taskKey,
} from './agent-state.js';
export {
  CHECKPOINT_VERSION,
  type CheckpointOp,
  checkpointOf,
  checkpointOps,
  TaskCheckpoint,
} from './checkpoint.js';
export { CheckpointError, CheckpointStore, checkpointDir, removeOtherAgents } from './checkpoint-store.js';
export type { AgentEffect, ExecutorLaunch } from './effects.js';
export { EXITED_UNWATCHED, ExecutorWatch } from './executor-watch.js';
export {
  loadIdentity,
  metaPath,
  newAgentId,
  readBootId,
  resolveIdentity,
  type StoredIdentity,
} from './identity.js';
export { type AgentEvent, agentMachine, route } from './machine.js';
export { type MachineFacts, readMachineFacts } from './machine-facts.js';
export {
  type ProcessLiveness,
  type ProcessProbe,
  probeProcess,
  processStartTime,
} from './process-liveness.js';
export {
  DEFAULT_REREGISTRATION_TIMEOUT_MS,
  ENDED_WHILE_DOWN,
  planRecovery,
  RecoverMode,
  type RecoveryPlan,
  recoveredContext,
} from './recovery.js';
export { type RegistrationRequest, registrationRequest } from './registration.js';
export { DEFAULT_PORTS, detectResources, localAgentResources } from './resource-detection.js';
export { DEFAULT_RECOVERY_TIMEOUT_MS, startAgent } from './runtime.js';
export * as statusUpdateQueue from './status-update-queue.js';
export type { AgentConfig, AgentHandle, AgentOptions } from './types.js';
