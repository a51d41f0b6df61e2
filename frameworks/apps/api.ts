import { z } from 'zod';
import { type AppKind, CronJobSpec, JobSpec, KIND_PLURAL, ServiceSpec } from './spec.js';
import { AppName, NonNegativeInt } from './spec-fields.js';

/**
 * The apps API: each built-in framework serves requests for its kind on one subject
 * (`<prefix>.apps.services`, `.apps.jobs`, `.apps.cronjobs`). The framework is the only writer of
 * its KV bucket, so a request is validated, applied and answered in one place; the CLI and the
 * cron framework are its clients.
 */

/** appsSubject is the request subject of one kind's framework. */
export function appsSubject(prefix: string, kind: AppKind): string {
  return `${prefix}.apps.${KIND_PLURAL[kind]}`;
}

/** AppsCall is a request to a built-in framework. APPLY's spec is validated by the framework itself. */
export const AppsCall = z.discriminatedUnion('type', [
  z.object({ type: z.literal('APPLY'), spec: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal('LIST') }),
  z.object({ type: z.literal('GET'), name: AppName }),
  z.object({ type: z.literal('DELETE'), name: AppName }),
  z.object({ type: z.literal('SCALE'), name: AppName, instances: NonNegativeInt }),
  z.object({ type: z.literal('RESTART'), name: AppName }),
  /** The recent output of an app's tasks, or of one task when `name` is a task id. */
  z.object({ type: z.literal('LOGS'), name: z.string().min(1).max(128) }),
]);
export type AppsCall = z.infer<typeof AppsCall>;

/** ApplyResult says what an APPLY did: `changes` are `path: old -> new` lines. */
export const ApplyResult = z.object({
  name: z.string(),
  action: z.enum(['created', 'updated', 'unchanged']),
  changes: z.array(z.string()),
  version: z.number().int(),
});
export type ApplyResult = z.infer<typeof ApplyResult>;

/** Done answers DELETE, SCALE and RESTART. */
export const Done = z.object({ name: z.string(), message: z.string() });
export type Done = z.infer<typeof Done>;

const AppEventSchema = z.object({ at: z.number(), message: z.string() });

/** LogsResult is the recent output of the tasks a LOGS call named. */
export const LogsResult = z.object({
  frameworkId: z.string(),
  tasks: z.array(z.object({ taskId: z.string(), state: z.string(), stdout: z.string(), stderr: z.string() })),
});
export type LogsResult = z.infer<typeof LogsResult>;

/** InstanceView is one service instance as the framework knows it. */
export const InstanceView = z.object({
  taskId: z.string(),
  version: z.number().int(),
  state: z.string(),
  healthy: z.boolean(),
  agentId: z.string(),
  hostname: z.string(),
  ports: z.array(z.number().int()),
  startedAt: z.number(),
});
export type InstanceView = z.infer<typeof InstanceView>;

/** ServiceView is a service's status. */
export const ServiceView = z.object({
  name: z.string(),
  frameworkId: z.string(),
  version: z.number().int(),
  spec: ServiceSpec,
  desired: z.number().int(),
  running: z.number().int(),
  healthy: z.number().int(),
  deployment: z
    .object({
      fromVersion: z.number().int(),
      toVersion: z.number().int(),
      startedAt: z.number(),
      failures: z.number().int(),
    })
    .optional(),
  instances: z.array(InstanceView),
  events: z.array(AppEventSchema),
});
export type ServiceView = z.infer<typeof ServiceView>;

/** JobPhase is where a job stands. */
export const JobPhase = { Running: 'Running', Succeeded: 'Succeeded', Failed: 'Failed' } as const;
export type JobPhase = (typeof JobPhase)[keyof typeof JobPhase];

/** JobView is a job's status. */
export const JobView = z.object({
  name: z.string(),
  frameworkId: z.string(),
  spec: JobSpec,
  phase: z.enum(['Running', 'Succeeded', 'Failed']),
  succeeded: z.number().int(),
  failed: z.number().int(),
  active: z.number().int(),
  createdAt: z.number(),
  finishedAt: z.number().optional(),
  reason: z.string().optional(),
  lastFailure: z.string().optional(),
  tasks: z.array(
    z.object({
      taskId: z.string(),
      index: z.number().int(),
      attempt: z.number().int(),
      state: z.string(),
      agentId: z.string().optional(),
    }),
  ),
  events: z.array(AppEventSchema),
});
export type JobView = z.infer<typeof JobView>;

/** CronJobView is a cron job's status. */
export const CronJobView = z.object({
  name: z.string(),
  spec: CronJobSpec,
  lastScheduleTime: z.number().optional(),
  nextScheduleTime: z.number().optional(),
  active: z.array(z.string()),
  runs: z.array(z.object({ job: z.string(), scheduledAt: z.number(), phase: z.string() })),
  events: z.array(AppEventSchema),
});
export type CronJobView = z.infer<typeof CronJobView>;

/** VIEW_OF is the GET result schema of each kind. */
export const VIEW_OF = { Service: ServiceView, Job: JobView, CronJob: CronJobView } as const;
export type ViewOf<K extends AppKind> = z.infer<(typeof VIEW_OF)[K]>;

/** listResult is the LIST result schema of a kind. */
export function listResult<K extends AppKind>(kind: K) {
  return z.object({ items: z.array(VIEW_OF[kind]) });
}
