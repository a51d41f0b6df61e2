import { constants } from 'node:os';
import { TaskState, type TaskStatus } from '../protocol/index.js';
import { ExitCode } from './errors.js';

/** TaskOutcome is how `mezzo run` ends for a final status: its exit code and its last stderr line. */
export interface TaskOutcome {
  exitCode: number;
  line: string;
}

const WHY: Partial<Record<TaskStatus['state'], string>> = {
  [TaskState.ERROR]: 'the task could not be launched',
  [TaskState.LOST]: 'the task was lost',
  [TaskState.DROPPED]: 'the task was dropped before it launched',
  [TaskState.GONE]: 'the task is gone',
  [TaskState.GONE_BY_OPERATOR]: 'the task is gone (its agent was marked gone)',
  [TaskState.UNKNOWN]: 'the master does not know the task',
  [TaskState.UNREACHABLE]: "the task's agent is unreachable",
  [TaskState.KILLED]: 'the task was killed',
};

/** signalNumber maps a signal name (`SIGKILL`) to its number, or undefined. */
export function signalNumber(signal: string | undefined): number | undefined {
  if (!signal) return undefined;
  return (constants.signals as Record<string, number>)[signal];
}

function detail(status: TaskStatus): string {
  const parts = [status.message, status.reason].filter(Boolean);
  return parts.length ? `: ${parts.join(' ')}` : '';
}

/**
 * taskOutcome maps a final status to an exit code, the way shells do: 0 for TASK_FINISHED, the
 * task's own code for TASK_FAILED (128 + n when a signal n ended it), 130 when the user
 * interrupted `mezzo run`, 128 + the signal (else 137) for TASK_KILLED, and 1 with a reason for
 * the rest (ERROR, LOST, DROPPED, GONE...).
 */
export function taskOutcome(status: TaskStatus, opts: { interrupted?: boolean } = {}): TaskOutcome {
  const head = `task ${status.taskId} ${status.state}`;
  const signal = signalNumber(status.signal);
  if (status.state === TaskState.FINISHED) return { exitCode: ExitCode.OK, line: head };
  if (status.state === TaskState.FAILED) {
    if (status.exitCode !== undefined && status.exitCode > 0) {
      return { exitCode: Math.min(status.exitCode, 255), line: `${head} (exit code ${status.exitCode})` };
    }
    if (signal !== undefined) return { exitCode: 128 + signal, line: `${head} (killed by ${status.signal})` };
    return { exitCode: ExitCode.FAILURE, line: `${head}${detail(status)}` };
  }
  if (opts.interrupted) return { exitCode: ExitCode.INTERRUPTED, line: `${head}${detail(status)}` };
  if (status.state === TaskState.KILLED) {
    return { exitCode: 128 + (signal ?? 9), line: `${head}${detail(status) || `: ${WHY[status.state]}`}` };
  }
  return {
    exitCode: ExitCode.FAILURE,
    line: `${head}${detail(status) || `: ${WHY[status.state] ?? 'unexpected final state'}`}`,
  };
}
