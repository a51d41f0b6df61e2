/** Simulated agents: the real agent protocol over real NATS, many per process, no processes. */
export { DueQueue } from './due-queue.js';
export {
  acknowledge,
  createSimAgent,
  DURATION_LABEL,
  dueRetries,
  type EncodedRegistration,
  encodedRegistration,
  endTask,
  FOREVER,
  launchTask,
  type Outgoing,
  onControl,
  type Reaction,
  registration,
  type SimAgent,
  SimPhase,
  type SimTask,
  taskDuration,
} from './sim-agent.js';
export {
  type SeedTask,
  type Simulator,
  type SimulatorOptions,
  type SimulatorStats,
  startSimulator,
} from './simulator.js';
