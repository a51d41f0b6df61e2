import type { AgentInfo, FrameworkInfo, TaskInfo, TaskStatus } from '../../protocol/index.js';
import type { BackoffPolicy } from '../common/index.js';
import type { AgentEffect } from './effects.js';
import type { UpdateQueues } from './status-update-queue.js';

/** TaskRecord is one task the agent holds, from RUN_TASK until its terminal update is acknowledged and its executor is gone. */
export interface TaskRecord {
  frameworkId: string;
  task: TaskInfo;
  executorId: string;
  containerId: string;
  sandbox: string;
  /** The latest status the agent knows: TASK_STAGING until the executor reports. */
  status: TaskStatus;
  executorPid?: number;
  /** The executor's start time (`/proc/<pid>/stat`), so that a restarted agent never mistakes a reused pid for it. */
  executorStartTime?: string;
  /** The task's pid, which is also its process group id (the executor reports it in REGISTER). */
  taskPid?: number;
  /** The task's start time, read when its executor reports the pid. */
  taskStartTime?: string;
  /** The executor has spoken, so it listens on its subject and can be told to KILL. */
  executorRegistered: boolean;
  /** The executor process is gone, or never started. */
  executorExited: boolean;
  /** Set once a kill was asked for: the grace period the task was given. */
  killGracePeriodSeconds?: number;
}

/** CompletedTask is a task the agent has forgotten (ended, update acknowledged), kept to tell a new master. */
export interface CompletedTask {
  framework: FrameworkInfo;
  task: TaskInfo;
  status: TaskStatus;
}

/** MAX_COMPLETED_TASKS is how many completed tasks the agent keeps (Mesos keeps completed executors too). */
export const MAX_COMPLETED_TASKS = 200;

/** AgentSettings are the tunables the pure handlers need. */
export interface AgentSettings {
  workDir: string;
  /** First resend interval of an unacknowledged status update; doubles up to statusUpdateRetryCapMs. */
  statusUpdateRetryMs: number;
  statusUpdateRetryCapMs: number;
  defaultKillGracePeriodSeconds: number;
  registrationBackoff: BackoffPolicy;
  /** How long a reattached executor has to REGISTER again before it is killed (default 10000). */
  executorReregistrationTimeoutMs?: number;
}

/** AgentContext is the agent actor's whole state: plain, serializable data. */
export interface AgentContext {
  agentId: string;
  info: AgentInfo;
  settings: AgentSettings;
  /** FrameworkInfo of every framework with a task here, for re-registration. */
  frameworks: Record<string, FrameworkInfo>;
  /** Tasks by `frameworkId/taskId`. */
  tasks: Record<string, TaskRecord>;
  /**
   * The latest tasks the agent forgot, oldest first (at most MAX_COMPLETED_TASKS): reported on
   * re-registration so that a new master knows how they ended.
   */
  completed: CompletedTask[];
  /** Reliable status update streams by `frameworkId/taskId`. */
  updates: UpdateQueues;
  /** How many times each stream's head has been resent. */
  retries: Record<string, number>;
  /** Registered with a master: status updates are forwarded. */
  connected: boolean;
  /** Shutting down: no new tasks. */
  stopping: boolean;
  registrationFailures: number;
  masterId?: string;
  /** The master's Registered listed TASK_DIGEST: re-register with a digest of the running tasks. */
  masterTakesDigest?: boolean;
  /** The master answered a digest with DIGEST_MISMATCH: the next REGISTER lists every task. */
  sendTasks?: boolean;
  heartbeatIntervalMs: number;
}

/** Step is what a handler decides: the next state and the effects to carry out, in order. */
export interface Step {
  state: AgentContext;
  effects: AgentEffect[];
}

/** taskKey names a task (and its update stream) on this agent. */
export function taskKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}/${taskId}`;
}

/** createAgentContext is an agent that holds nothing and has not registered yet. */
export function createAgentContext(info: AgentInfo, settings: AgentSettings): AgentContext {
  return {
    agentId: info.id,
    info,
    settings,
    frameworks: {},
    tasks: {},
    completed: [],
    updates: {},
    retries: {},
    connected: false,
    stopping: false,
    registrationFailures: 0,
    heartbeatIntervalMs: 15_000,
  };
}

/** withTask returns the state with one task record changed. */
export function withTask(s: AgentContext, key: string, patch: Partial<TaskRecord>): AgentContext {
  const rec = s.tasks[key];
  if (!rec) return s;
  return { ...s, tasks: { ...s.tasks, [key]: { ...rec, ...patch } } };
}

/** unchanged is the step that does nothing. */
export function unchanged(state: AgentContext, ...effects: AgentEffect[]): Step {
  return { state, effects };
}

/** liveTasks lists the records whose executor may still run. */
export function liveTasks(s: AgentContext): [string, TaskRecord][] {
  return Object.entries(s.tasks).filter(([, r]) => !r.executorExited);
}

/** graceOf is the grace period a kill of this task gets unless the kill names one. */
export function graceOf(s: AgentContext, rec: TaskRecord): number {
  return (
    rec.killGracePeriodSeconds ??
    rec.task.killPolicy?.gracePeriodSeconds ??
    s.settings.defaultKillGracePeriodSeconds
  );
}
