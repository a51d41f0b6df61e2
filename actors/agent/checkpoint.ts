import { z } from 'zod';
import { FrameworkInfo, Id, StatusUpdate, TaskInfo, TaskStatus } from '../../protocol/index.js';
import type { AgentContext } from './agent-state.js';
import type { UpdateStream } from './status-update-queue.js';

/** CHECKPOINT_VERSION is written into every task checkpoint; a file of another version is not read. */
export const CHECKPOINT_VERSION = 1;

/** Pid is a process id the agent recorded. */
const Pid = z.number().int().positive();
/** StartTime is a process's start time in clock ticks since boot, as `/proc/<pid>/stat` gives it. */
const StartTime = z.string().regex(/^[0-9]{1,20}$/);

/** ProcessFields are what a restarted agent needs to find (and kill, or reattach to) a task's processes. */
const ProcessFields = {
  version: z.literal(CHECKPOINT_VERSION),
  frameworkId: Id,
  taskId: Id,
  executorId: Id,
  containerId: Id,
  executorPid: Pid.optional(),
  executorStartTime: StartTime.optional(),
  taskPid: Pid.optional(),
  taskStartTime: StartTime.optional(),
};

/** CheckpointedStream is a task's reliable status updates, as the status-update queue holds them. */
export const CheckpointedStream = z.object({
  pending: z.array(StatusUpdate).max(10_000),
  seen: z.array(z.string().max(64)).max(100_000),
  terminal: z.boolean(),
});

/**
 * TaskCheckpoint is one file under `<workDir>/meta/agents/<agentId>/tasks/<containerId>.json`.
 * A task of a framework that does not checkpoint keeps only its processes there (so that a
 * restarted agent can kill them); a checkpointing framework's task keeps all the agent needs to
 * take it back: its framework and task info, its latest status, its sandbox, and its
 * unacknowledged status updates.
 */
export const TaskCheckpoint = z.discriminatedUnion('checkpoint', [
  z.object({ checkpoint: z.literal(false), ...ProcessFields }),
  z.object({
    checkpoint: z.literal(true),
    ...ProcessFields,
    sandbox: z.string().min(1).max(4096),
    framework: FrameworkInfo,
    task: TaskInfo,
    status: TaskStatus,
    killGracePeriodSeconds: z.number().finite().min(0).optional(),
    executorExited: z.boolean(),
    updates: CheckpointedStream,
  }),
]);
export type TaskCheckpoint = z.infer<typeof TaskCheckpoint>;

/** CheckpointOp is one change to the agent's checkpoint: a task's file written (atomically) or removed. */
export type CheckpointOp =
  | { op: 'write'; containerId: string; data: TaskCheckpoint }
  | { op: 'remove'; containerId: string };

const NO_UPDATES: UpdateStream = { pending: [], seen: [], terminal: false };

/**
 * checkpointOf is what the agent keeps on disk about one task, or undefined when nothing needs
 * keeping: a non-checkpointing framework's task whose executor is gone leaves nothing to kill.
 */
export function checkpointOf(s: AgentContext, key: string): TaskCheckpoint | undefined {
  const rec = s.tasks[key];
  if (!rec) return undefined;
  const framework = s.frameworks[rec.frameworkId];
  const processes = {
    version: CHECKPOINT_VERSION,
    frameworkId: rec.frameworkId,
    taskId: rec.task.taskId,
    executorId: rec.executorId,
    containerId: rec.containerId,
    ...(rec.executorPid !== undefined ? { executorPid: rec.executorPid } : {}),
    ...(rec.executorStartTime !== undefined ? { executorStartTime: rec.executorStartTime } : {}),
    ...(rec.taskPid !== undefined ? { taskPid: rec.taskPid } : {}),
    ...(rec.taskStartTime !== undefined ? { taskStartTime: rec.taskStartTime } : {}),
  } as const;
  if (!framework?.checkpoint) {
    if (rec.executorExited) return undefined;
    return { checkpoint: false, ...processes };
  }
  const stream = s.updates[key] ?? NO_UPDATES;
  return {
    checkpoint: true,
    ...processes,
    sandbox: rec.sandbox,
    framework,
    task: rec.task,
    status: rec.status,
    ...(rec.killGracePeriodSeconds !== undefined
      ? { killGracePeriodSeconds: rec.killGracePeriodSeconds }
      : {}),
    executorExited: rec.executorExited,
    updates: { pending: [...stream.pending], seen: [...stream.seen], terminal: stream.terminal },
  };
}

/**
 * checkpointOps are the writes and removals that bring the checkpoint from what it held for
 * `prev` to `next`: a task whose record, update stream or framework changed is written again
 * (only if what is kept of it changed), a task that is gone is removed. The agent carries them
 * out before any effect of the same step, so an update is on disk before its executor is ACKed.
 */
export function checkpointOps(prev: AgentContext, next: AgentContext): CheckpointOp[] {
  if (prev === next) return [];
  const ops: CheckpointOp[] = [];
  const keys = new Set([...Object.keys(prev.tasks), ...Object.keys(next.tasks)]);
  for (const key of keys) {
    const before = prev.tasks[key];
    const after = next.tasks[key];
    if (
      before === after &&
      prev.updates[key] === next.updates[key] &&
      (!after || prev.frameworks[after.frameworkId] === next.frameworks[after.frameworkId])
    )
      continue;
    const was = before ? checkpointOf(prev, key) : undefined;
    const now = after ? checkpointOf(next, key) : undefined;
    if (before && (!after || before.containerId !== after.containerId)) {
      ops.push({ op: 'remove', containerId: before.containerId });
      if (now) ops.push({ op: 'write', containerId: now.containerId, data: now });
      continue;
    }
    if (!now) {
      if (was) ops.push({ op: 'remove', containerId: was.containerId });
      continue;
    }
    if (was && JSON.stringify(was) === JSON.stringify(now)) continue;
    ops.push({ op: 'write', containerId: now.containerId, data: now });
  }
  return ops;
}
