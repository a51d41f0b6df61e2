import type { FrameworkInfo } from '../../protocol/index.js';
import { type AgentContext, type Step, type TaskRecord, taskKey, unchanged } from './agent-state.js';
import type { TaskCheckpoint } from './checkpoint.js';
import type { AgentEffect } from './effects.js';
import type { ProcessProbe } from './process-liveness.js';
import type { UpdateQueues, UpdateStream } from './status-update-queue.js';

/** RecoverMode is Mesos's `--recover`: take the old executors back, or kill them all and start afresh. */
export const RecoverMode = { RECONNECT: 'reconnect', CLEANUP: 'cleanup' } as const;
export type RecoverMode = (typeof RecoverMode)[keyof typeof RecoverMode];

/** Reattach is a live executor a restarted agent takes back. */
export interface Reattach {
  key: string;
  executorId: string;
  pid: number;
  startTime?: string;
  containerId: string;
  sandbox: string;
}

/** Kill is a process group of a previous run to SIGKILL, and why. */
export interface Kill {
  pgid: number;
  why: string;
}

/** RecoveryPlan is what a restarting agent does with what its previous run checkpointed. */
export interface RecoveryPlan {
  /** The tasks it takes back (checkpointing frameworks only), by `frameworkId/taskId`. */
  tasks: Record<string, TaskRecord>;
  /** Their unacknowledged status updates. */
  updates: UpdateQueues;
  /** Their frameworks. */
  frameworks: Record<string, FrameworkInfo>;
  /** Live executors to tell RECONNECT and to watch. */
  reattach: Reattach[];
  /** Tasks whose executor ended while the agent was down: each gets an EXECUTOR_EXITED. */
  ended: string[];
  /** Process groups to SIGKILL before anything else: tasks of frameworks that do not checkpoint, or everything on cleanup. */
  kill: Kill[];
  /** Checkpoint files (container ids) to remove. */
  discard: string[];
}

/** owned tells whether a recorded process group is still ours to signal: no other process took its leader's pid. */
function owned(probe: ProcessProbe, pid: number | undefined, startTime: string | undefined): boolean {
  return pid !== undefined && probe(pid, startTime) !== 'other';
}

/** killsOf lists the process groups of a checkpointed task that are still its own: executor first, then task. */
function killsOf(cp: TaskCheckpoint, probe: ProcessProbe, why: string): Kill[] {
  const out: Kill[] = [];
  if (cp.executorPid !== undefined && probe(cp.executorPid, cp.executorStartTime) === 'same')
    out.push({ pgid: cp.executorPid, why });
  if (owned(probe, cp.taskPid, cp.taskStartTime) && cp.taskPid !== undefined)
    out.push({ pgid: cp.taskPid, why });
  return out;
}

/**
 * planRecovery decides, from the checkpoints of the agent's previous run and what runs now, what
 * the agent does before it registers again:
 *
 * - `cleanup`: every recorded executor and task group is SIGKILLed and every checkpoint dropped;
 *   the agent starts with nothing (the master learns the tasks are gone when it re-registers).
 * - `reconnect`, framework without checkpointing: its executor and task are killed, as Mesos
 *   does; the master reports the task gone (REASON_AGENT_RESTARTED) when the agent re-registers.
 * - `reconnect`, checkpointing framework, executor alive (same pid and start time): the task is
 *   taken back with its unacknowledged updates, and the executor is told to RECONNECT.
 * - `reconnect`, checkpointing framework, executor gone: the task is taken back and its executor
 *   reported ended, so an unterminated task becomes TASK_FAILED (REASON_EXECUTOR_TERMINATED).
 *
 * A task group is signalled only while no other process holds its leader's pid.
 */
export function planRecovery(
  checkpoints: readonly TaskCheckpoint[],
  mode: RecoverMode,
  probe: ProcessProbe,
): RecoveryPlan {
  const plan: RecoveryPlan = {
    tasks: {},
    updates: {},
    frameworks: {},
    reattach: [],
    ended: [],
    kill: [],
    discard: [],
  };
  const executorIds = new Set<string>();
  for (const cp of checkpoints) {
    const key = taskKey(cp.frameworkId, cp.taskId);
    if (mode === RecoverMode.CLEANUP || !cp.checkpoint) {
      const why =
        mode === RecoverMode.CLEANUP
          ? 'recover=cleanup'
          : 'its framework does not checkpoint, so its tasks do not survive an agent restart';
      plan.kill.push(...killsOf(cp, probe, why));
      plan.discard.push(cp.containerId);
      continue;
    }
    if (plan.tasks[key] || executorIds.has(cp.executorId)) {
      // Two checkpoints of one task or executor: the first one read wins, the other is dropped.
      plan.discard.push(cp.containerId);
      continue;
    }
    executorIds.add(cp.executorId);
    const live =
      !cp.executorExited &&
      cp.executorPid !== undefined &&
      probe(cp.executorPid, cp.executorStartTime) === 'same';
    const taskOwned = owned(probe, cp.taskPid, cp.taskStartTime);
    const rec: TaskRecord = {
      frameworkId: cp.frameworkId,
      task: cp.task,
      executorId: cp.executorId,
      containerId: cp.containerId,
      sandbox: cp.sandbox,
      status: cp.status,
      ...(cp.executorPid !== undefined ? { executorPid: cp.executorPid } : {}),
      ...(cp.executorStartTime !== undefined ? { executorStartTime: cp.executorStartTime } : {}),
      ...(taskOwned && cp.taskPid !== undefined ? { taskPid: cp.taskPid } : {}),
      ...(taskOwned && cp.taskStartTime !== undefined ? { taskStartTime: cp.taskStartTime } : {}),
      // The executor is told to register again; until it does it is not assumed to listen.
      executorRegistered: false,
      executorExited: cp.executorExited,
      ...(cp.killGracePeriodSeconds !== undefined
        ? { killGracePeriodSeconds: cp.killGracePeriodSeconds }
        : {}),
    };
    plan.tasks[key] = rec;
    const stream: UpdateStream = cp.updates;
    plan.updates = { ...plan.updates, [key]: stream };
    plan.frameworks[cp.frameworkId] = cp.framework;
    if (live && cp.executorPid !== undefined) {
      plan.reattach.push({
        key,
        executorId: cp.executorId,
        pid: cp.executorPid,
        ...(cp.executorStartTime !== undefined ? { startTime: cp.executorStartTime } : {}),
        containerId: cp.containerId,
        sandbox: cp.sandbox,
      });
    } else if (!cp.executorExited) {
      plan.ended.push(key);
    }
  }
  return plan;
}

/** recoveredContext is a fresh agent context holding the tasks, updates and frameworks a plan takes back. */
export function recoveredContext(base: AgentContext, plan: RecoveryPlan): AgentContext {
  return {
    ...base,
    tasks: { ...base.tasks, ...plan.tasks },
    updates: { ...base.updates, ...plan.updates },
    frameworks: { ...base.frameworks, ...plan.frameworks },
  };
}

/** ENDED_WHILE_DOWN is the message of the update a task gets when its executor ended while the agent was down. */
export const ENDED_WHILE_DOWN = 'Executor terminated while the agent was down';

/** DEFAULT_REREGISTRATION_TIMEOUT_MS is how long a reattached executor has to REGISTER again (Mesos `--executor_reregistration_timeout`). */
export const DEFAULT_REREGISTRATION_TIMEOUT_MS = 10_000;

/**
 * executorReattached tells a live executor of the previous run to RECONNECT. One whose task has a
 * pid must answer with REGISTER within the re-registration timeout, or it is killed; a Docker
 * task's executor has no pid to tell, and speaks only when it has an update to resend.
 */
export function executorReattached(s: AgentContext, key: string): Step {
  const rec = s.tasks[key];
  if (!rec || rec.executorExited) return unchanged(s);
  const effects: AgentEffect[] = [
    { kind: 'sendToExecutor', executorId: rec.executorId, message: { type: 'RECONNECT' } },
  ];
  if (rec.taskPid !== undefined && !rec.executorRegistered)
    effects.push({
      kind: 'scheduleReregistrationTimeout',
      key,
      delayMs: s.settings.executorReregistrationTimeoutMs ?? DEFAULT_REREGISTRATION_TIMEOUT_MS,
    });
  return unchanged(s, ...effects);
}

/**
 * reregistrationTimeout kills a reattached executor that has not registered again in time, with
 * its task's group: the executor watch then sees it gone and the task is failed
 * (REASON_EXECUTOR_TERMINATED), as Mesos shuts down an executor that does not re-register.
 */
export function reregistrationTimeout(s: AgentContext, key: string): Step {
  const rec = s.tasks[key];
  if (!rec || rec.executorExited || rec.executorRegistered) return unchanged(s);
  const effects: AgentEffect[] = [
    {
      kind: 'warn',
      message: 'a reattached executor did not register again in time: killing it',
      fields: { key, executorId: rec.executorId },
    },
  ];
  for (const pgid of [rec.executorPid, rec.taskPid])
    if (pgid !== undefined) effects.push({ kind: 'signalProcessGroup', pgid, signal: 'SIGKILL' });
  return unchanged(s, ...effects);
}
