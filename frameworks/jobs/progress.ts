import { z } from 'zod';
import { isTerminal, TaskState, type TaskStatus } from '../../protocol/index.js';
import { type AppEvent, withEvent } from '../apps/events.js';
import { JobSpec } from '../apps/spec.js';
import { backoffDelayMs } from '../apps/spec-fields.js';
import { failureText } from '../apps/task-text.js';

/** CompletionState is one of a job's `completions` slots: done, or how often it failed. */
export const CompletionState = z.object({
  succeeded: z.boolean(),
  attempts: z.number().int(),
  failures: z.number().int(),
  retryAt: z.number().optional(),
});

/** JobTask is a task the job launched, with where it ran. */
export const JobTask = z.object({
  index: z.number().int(),
  attempt: z.number().int(),
  state: z.string(),
  agentId: z.string().optional(),
  hostname: z.string().optional(),
  attributes: z.record(z.string(), z.string()).default({}),
});
export type JobTask = z.infer<typeof JobTask>;

/** JobState is everything the jobs framework keeps about one job (persisted in KV). */
export const JobState = z.object({
  spec: JobSpec,
  createdAt: z.number(),
  generation: z.string(),
  phase: z.enum(['Running', 'Succeeded', 'Failed']),
  finishedAt: z.number().optional(),
  reason: z.string().optional(),
  lastFailure: z.string().optional(),
  completions: z.array(CompletionState),
  tasks: z.record(z.string(), JobTask),
  events: z.array(z.object({ at: z.number(), message: z.string() })),
});
export type JobState = z.infer<typeof JobState>;

/** newJob is a job just applied: nothing launched yet. */
export function newJob(spec: JobSpec, now: number): JobState {
  return {
    spec,
    createdAt: now,
    generation: now.toString(36),
    phase: 'Running',
    completions: Array.from({ length: spec.completions }, () => ({
      succeeded: false,
      attempts: 0,
      failures: 0,
    })),
    tasks: {},
    events: [
      { at: now, message: `created: ${spec.completions} completions, parallelism ${spec.parallelism}` },
    ],
  };
}

/** jobTaskId names attempt `attempt` of completion `index`. */
export function jobTaskId(job: JobState, index: number, attempt: number): string {
  return `job-${job.spec.name}-${job.generation}-${index}-${attempt}`;
}

/** activeTasks are the job's tasks that have not ended. */
export function activeTasks(job: JobState): [string, JobTask][] {
  return Object.entries(job.tasks).filter(([, t]) => !isTerminal(t.state as TaskState));
}

/** JobPlan is what a job needs now: completions to launch, tasks to kill. */
export interface JobPlan {
  launch: { index: number; attempt: number }[];
  kill: string[];
}

/**
 * expire ends a running job whose active deadline has passed: it fails with DeadlineExceeded and
 * its running tasks are to be killed (jobPlan then lists them).
 */
export function expire(job: JobState, now: number): JobState {
  const d = job.spec.activeDeadlineSeconds;
  if (job.phase !== 'Running' || d === undefined || now < job.createdAt + d * 1000) return job;
  return finish(job, 'Failed', now, `DeadlineExceeded: still running after ${d} s`);
}

function finish(job: JobState, phase: 'Succeeded' | 'Failed', now: number, reason: string): JobState {
  return {
    ...job,
    phase,
    finishedAt: now,
    reason,
    events: withEvent(job.events, now, `${phase}: ${reason}`),
  };
}

/**
 * jobPlan decides what to launch and kill: a running job fills free parallelism slots with the
 * lowest completions that are neither done, nor running, nor waiting out a retry backoff; a
 * finished job kills whatever still runs.
 */
export function jobPlan(job: JobState, now: number): JobPlan {
  const active = activeTasks(job);
  if (job.phase !== 'Running') return { launch: [], kill: active.map(([id]) => id) };
  const busy = new Set(active.map(([, t]) => t.index));
  const slots = job.spec.parallelism - active.length;
  const launch: JobPlan['launch'] = [];
  job.completions.forEach((c, index) => {
    if (launch.length >= slots || c.succeeded || busy.has(index)) return;
    if (c.retryAt !== undefined && c.retryAt > now) return;
    launch.push({ index, attempt: c.attempts });
  });
  return { launch, kill: [] };
}

/** nextWakeup is when a waiting retry becomes due (undefined when none waits). */
export function nextWakeup(job: JobState): number | undefined {
  if (job.phase !== 'Running') return undefined;
  const times = job.completions
    .filter((c) => !c.succeeded && c.retryAt !== undefined)
    .map((c) => c.retryAt as number);
  return times.length ? Math.min(...times) : undefined;
}

/** launched records a task just sent to the master (before the ACCEPT goes out). */
export function launched(
  job: JobState,
  taskId: string,
  at: {
    index: number;
    attempt: number;
    agentId: string;
    hostname: string;
    attributes: Record<string, string>;
  },
  now: number,
): JobState {
  const completions = job.completions.map((c, i) =>
    i === at.index ? { ...c, attempts: c.attempts + 1, retryAt: undefined } : c,
  );
  return {
    ...job,
    completions,
    tasks: {
      ...job.tasks,
      [taskId]: {
        index: at.index,
        attempt: at.attempt,
        state: TaskState.STAGING,
        agentId: at.agentId,
        hostname: at.hostname,
        attributes: at.attributes,
      },
    },
    events: withEvent(job.events, now, `launched ${taskId} on ${at.hostname}`),
  };
}

/**
 * taskUpdated applies a status update: FINISHED completes its completion (all done: Succeeded);
 * any other terminal state is a failure, retried after the backoff until `retries` is spent, then
 * the job fails with that task's reason. Updates about unknown tasks or ended jobs change only
 * the task's recorded state.
 */
export function taskUpdated(job: JobState, status: TaskStatus, now: number): JobState {
  const task = job.tasks[status.taskId];
  if (!task) return job;
  if (isTerminal(task.state as TaskState)) return job; // already ended; a resend
  let next: JobState = { ...job, tasks: { ...job.tasks, [status.taskId]: { ...task, state: status.state } } };
  if (!isTerminal(status.state) || job.phase !== 'Running') return next;
  const c = job.completions[task.index];
  if (!c) return next;
  if (status.state === TaskState.FINISHED) {
    const completions = job.completions.map((x, i) => (i === task.index ? { ...x, succeeded: true } : x));
    next = { ...next, completions, events: withEvent(next.events, now, `${status.taskId} finished`) };
    const done = completions.filter((x) => x.succeeded).length;
    return done === completions.length
      ? finish(next, 'Succeeded', now, `${done} of ${done} completions succeeded`)
      : next;
  }
  const why = failureText(status);
  const failures = c.failures + 1;
  next = {
    ...next,
    lastFailure: `${status.taskId}: ${why}`,
    events: withEvent(next.events, now, `${status.taskId} failed: ${why}`),
  };
  if (failures > job.spec.retries) {
    next = {
      ...next,
      completions: next.completions.map((x, i) => (i === task.index ? { ...x, failures } : x)),
    };
    return finish(
      next,
      'Failed',
      now,
      `completion ${task.index} failed ${failures} time(s), retries ${job.spec.retries}; last: ${why}`,
    );
  }
  const retryAt = now + backoffDelayMs(job.spec.backoff, failures);
  return {
    ...next,
    completions: next.completions.map((x, i) => (i === task.index ? { ...x, failures, retryAt } : x)),
  };
}

/** counts are the numbers `mezzo get jobs` shows. */
export function counts(job: JobState): { succeeded: number; failed: number; active: number } {
  return {
    succeeded: job.completions.filter((c) => c.succeeded).length,
    failed: job.completions.reduce((n, c) => n + c.failures, 0),
    active: activeTasks(job).length,
  };
}

/** recentEvents is exported for views. */
export type { AppEvent };
