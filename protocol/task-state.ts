import { z } from 'zod';

/** TaskState is the Mesos task state machine's vocabulary. */
export const TaskState = {
  STAGING: 'TASK_STAGING',
  STARTING: 'TASK_STARTING',
  RUNNING: 'TASK_RUNNING',
  KILLING: 'TASK_KILLING',
  FINISHED: 'TASK_FINISHED',
  FAILED: 'TASK_FAILED',
  KILLED: 'TASK_KILLED',
  ERROR: 'TASK_ERROR',
  LOST: 'TASK_LOST',
  DROPPED: 'TASK_DROPPED',
  UNREACHABLE: 'TASK_UNREACHABLE',
  GONE: 'TASK_GONE',
  GONE_BY_OPERATOR: 'TASK_GONE_BY_OPERATOR',
  UNKNOWN: 'TASK_UNKNOWN',
} as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];
export const TaskStateSchema = z.enum(Object.values(TaskState) as [TaskState, ...TaskState[]]);

const TERMINAL: ReadonlySet<TaskState> = new Set<TaskState>([
  TaskState.FINISHED,
  TaskState.FAILED,
  TaskState.KILLED,
  TaskState.ERROR,
  TaskState.LOST,
  TaskState.DROPPED,
  TaskState.GONE,
  TaskState.GONE_BY_OPERATOR,
]);

/** isTerminal tells whether a task in this state will never change state again. */
export function isTerminal(state: TaskState): boolean {
  return TERMINAL.has(state);
}

const PARTITION_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  TaskState.DROPPED,
  TaskState.UNREACHABLE,
  TaskState.GONE,
  TaskState.GONE_BY_OPERATOR,
  TaskState.UNKNOWN,
]);

/**
 * stateForFramework downgrades the partition-aware states to TASK_LOST for frameworks that lack the
 * PARTITION_AWARE capability, as Mesos does.
 */
export function stateForFramework(state: TaskState, partitionAware: boolean): TaskState {
  return !partitionAware && PARTITION_STATES.has(state) ? TaskState.LOST : state;
}

/** Reason says why a task changed state (the Mesos REASON_* set that Mezzo uses). */
export const Reason = {
  COMMAND_EXECUTOR_FAILED: 'REASON_COMMAND_EXECUTOR_FAILED',
  CONTAINER_LAUNCH_FAILED: 'REASON_CONTAINER_LAUNCH_FAILED',
  CONTAINER_LIMITATION_MEMORY: 'REASON_CONTAINER_LIMITATION_MEMORY',
  EXECUTOR_TERMINATED: 'REASON_EXECUTOR_TERMINATED',
  FRAMEWORK_REMOVED: 'REASON_FRAMEWORK_REMOVED',
  AGENT_REMOVED: 'REASON_AGENT_REMOVED',
  AGENT_REMOVED_BY_OPERATOR: 'REASON_AGENT_REMOVED_BY_OPERATOR',
  AGENT_UNREACHABLE: 'REASON_AGENT_UNREACHABLE',
  AGENT_RESTARTED: 'REASON_AGENT_RESTARTED',
  AGENT_UNKNOWN: 'REASON_AGENT_UNKNOWN',
  INVALID_OFFERS: 'REASON_INVALID_OFFERS',
  RECONCILIATION: 'REASON_RECONCILIATION',
  TASK_INVALID: 'REASON_TASK_INVALID',
  /** A TASK_RUNNING that reports a change of the task's health check verdict (`healthy`). */
  TASK_HEALTH_CHECK_STATUS_UPDATED: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
  TASK_KILLED_DURING_LAUNCH: 'REASON_TASK_KILLED_DURING_LAUNCH',
  TASK_UNKNOWN: 'REASON_TASK_UNKNOWN',
  /** The framework's principal may not launch the task (for instance as the OS user it names). */
  TASK_UNAUTHORIZED: 'REASON_TASK_UNAUTHORIZED',
  RESOURCES_UNKNOWN: 'REASON_RESOURCES_UNKNOWN',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
export const ReasonSchema = z.enum(Object.values(Reason) as [Reason, ...Reason[]]);

/** Source says which component produced a status update. */
export const Source = {
  MASTER: 'SOURCE_MASTER',
  AGENT: 'SOURCE_AGENT',
  EXECUTOR: 'SOURCE_EXECUTOR',
} as const;
export type Source = (typeof Source)[keyof typeof Source];
export const SourceSchema = z.enum(Object.values(Source) as [Source, ...Source[]]);
