/** The command executor: a process per task that runs it, streams its output and reports its states. */

export { type ExecutorContext, type ExecutorEvent, type ExecutorInput, executorMachine } from './machine.js';
export {
  type ExecutorOptions,
  type ExecutorRun,
  RECOVERY_TIMEOUT_ENV,
  recoveryTimeoutMs,
  runExecutor,
} from './runtime.js';
export { ExecutorEnv, TASK_FILE, TaskEnv, TaskFile, type TaskFileInput } from './task-file.js';
export {
  containerLaunchFailureStatus,
  launchFailureStatus,
  type TaskEnd,
  type TaskLimitation,
  type TerminalStatus,
  terminalStatus,
} from './terminal-status.js';
