/** The `mezzo` command: its program, and the pure pieces its commands are made of. */

export { ClusterFile, clusterFilePath, readClusterFile, writeClusterFile } from './cluster-file.js';
export {
  CLI_DEFAULTS,
  type ClusterFileConfig,
  type ConfigDefaults,
  type ConfigEnv,
  type ConfigFlags,
  type ResolvedConfig,
  resolveConfig,
  resolveDataDir,
} from './config.js';
export { CliError, ExitCode } from './errors.js';
export { signalNumber, type TaskOutcome, taskOutcome } from './exit-code.js';
export { canAnyAgentFit, describeScalars, type FitVerdict } from './fit-check.js';
export {
  agentsTable,
  ago,
  formatScalar,
  frameworksTable,
  resourceList,
  tasksTable,
  usedOfTotal,
} from './format.js';
export { type OfferChoice, pickOffer } from './pick-offer.js';
export { buildProgram, main } from './program.js';
export {
  buildTaskRequest,
  commandInfoFor,
  parseEnv,
  parseRlimits,
  type RunFlags,
  requestedResources,
  type TaskRequest,
  taskIdFor,
} from './task-request.js';
