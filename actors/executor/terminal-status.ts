import { Reason, TaskState } from '../../protocol/index.js';

/** TaskEnd is how a task's process ended, and whether anyone had asked for it to be killed. */
export interface TaskEnd {
  exitCode: number | null;
  signal: string | null;
  killRequested: boolean;
  /** A limit the container ran into (the memory isolator saw an OOM kill); absent when none. */
  limitation?: TaskLimitation;
}

/** TaskLimitation is a container limit a task ran into, as the executor reports it. */
export interface TaskLimitation {
  kind: 'memory';
  message: string;
}

/** TerminalStatus is the part of the final TaskStatus that the way a task ended decides. */
export interface TerminalStatus {
  state: TaskState;
  reason?: Reason;
  message: string;
  exitCode?: number;
  signal?: string;
}

/**
 * terminalStatus maps a task's end to its terminal state, as the Mesos command executor does: a
 * task that was asked to die is TASK_KILLED however it ended; otherwise exit 0 is TASK_FINISHED,
 * and a non-zero exit or a signal is TASK_FAILED. A task that ran into its memory limit is
 * TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY and the isolator's message, whatever its exit.
 */
export function terminalStatus(end: TaskEnd): TerminalStatus {
  const how: Pick<TerminalStatus, 'message' | 'exitCode' | 'signal'> = end.signal
    ? { message: `Command terminated by signal ${end.signal}`, signal: end.signal }
    : end.exitCode !== null
      ? { message: `Command exited with status ${end.exitCode}`, exitCode: end.exitCode }
      : { message: 'Command ended without an exit status' };
  if (end.killRequested) return { state: TaskState.KILLED, ...how };
  if (end.limitation?.kind === 'memory') {
    return {
      state: TaskState.FAILED,
      ...how,
      reason: Reason.CONTAINER_LIMITATION_MEMORY,
      message: end.limitation.message,
    };
  }
  if (end.exitCode === 0 && !end.signal) return { state: TaskState.FINISHED, ...how };
  return { state: TaskState.FAILED, ...how };
}

/**
 * launchFailureStatus is the TASK_FAILED of a command that could not start at all (no such
 * program, not executable, ...).
 */
export function launchFailureStatus(
  program: string,
  error: { code?: string; message: string },
): TerminalStatus {
  const why =
    error.code === 'ENOENT'
      ? 'no such file or command'
      : error.code === 'EACCES'
        ? 'permission denied'
        : error.message;
  return {
    state: TaskState.FAILED,
    reason: Reason.COMMAND_EXECUTOR_FAILED,
    message: `Failed to launch command '${program}': ${why}${error.code ? ` (${error.code})` : ''}`,
  };
}

/**
 * containerLaunchFailureStatus is the TASK_FAILED of a task whose container could not be made or
 * started: REASON_CONTAINER_LAUNCH_FAILED, with the containerizer's words (`image X is not present
 * on this agent ...`).
 */
export function containerLaunchFailureStatus(message: string): TerminalStatus {
  return { state: TaskState.FAILED, reason: Reason.CONTAINER_LAUNCH_FAILED, message };
}
