import { z } from 'zod';
import { IsolationSettings } from '../../isolation/index.js';
import { FrameworkInfo, Id, KillPolicy, TaskInfo } from '../../protocol/index.js';

/**
 * TaskFile is `<sandbox>/task.json`: what the agent hands a command executor about its one task.
 * The agent writes it before spawning the executor; the executor reads it first thing.
 */
export const TaskFile = z.object({
  task: TaskInfo,
  /** The task's framework; its capabilities tell the executor whether to report TASK_KILLING. */
  framework: FrameworkInfo.optional(),
  frameworkId: Id,
  agentId: Id,
  executorId: Id,
  /** The subject prefix of the cluster (`mezzo.v1`). */
  prefix: z.string().min(1).max(256),
  /** Grace between SIGTERM and SIGKILL when the executor itself is told to stop by a signal. */
  killPolicy: KillPolicy,
  /** The agent's isolation for this task's container; absent means posix only (an older agent). */
  isolation: IsolationSettings.optional(),
});
export type TaskFile = z.infer<typeof TaskFile>;
export type TaskFileInput = z.input<typeof TaskFile>;

/** TASK_FILE is the name of the task file inside a sandbox. */
export const TASK_FILE = 'task.json';

/** ExecutorEnv names the environment variables the agent gives an executor process. */
export const ExecutorEnv = {
  NATS_URL: 'MEZZO_NATS_URL',
  PREFIX: 'MEZZO_PREFIX',
  AGENT_ID: 'MEZZO_AGENT_ID',
  EXECUTOR_ID: 'MEZZO_EXECUTOR_ID',
  SANDBOX: 'MEZZO_SANDBOX',
} as const;
export type ExecutorEnv = (typeof ExecutorEnv)[keyof typeof ExecutorEnv];

/** TaskEnv names the variables a task finds in its environment besides its command's own. */
export const TaskEnv = {
  TASK_ID: 'MEZZO_TASK_ID',
  FRAMEWORK_ID: 'MEZZO_FRAMEWORK_ID',
  AGENT_ID: 'MEZZO_AGENT_ID',
  SANDBOX: 'MEZZO_SANDBOX',
} as const;
