import { z } from 'zod';
import { parseConstraint } from './constraints.js';
import {
  AppName,
  Backoff,
  Command,
  CronSchedule,
  Env,
  Fraction,
  Image,
  NonNegativeInt,
  PositiveInt,
  PositiveSeconds,
  Seconds,
  SpecResources,
  TimeZone,
} from './spec-fields.js';

/** AppKind is the kind of a spec, one per built-in framework. */
export const AppKind = { Service: 'Service', Job: 'Job', CronJob: 'CronJob' } as const;
export type AppKind = (typeof AppKind)[keyof typeof AppKind];

/** KIND_PLURAL is how a kind is named in error paths, subjects and the CLI (`services.web.instances`). */
export const KIND_PLURAL: Record<AppKind, 'services' | 'jobs' | 'cronjobs'> = {
  Service: 'services',
  Job: 'jobs',
  CronJob: 'cronjobs',
};

const Constraints = z
  .array(
    z.string({ error: 'expected a constraint such as "zone UNIQUE"' }).superRefine((s, ctx) => {
      try {
        parseConstraint(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
    { error: 'expected a list of constraints such as ["zone UNIQUE"]' },
  )
  .max(16)
  .default([]);

/** What every runnable spec has: what to run, with what, where. */
const Runnable = {
  command: Command.optional(),
  image: Image.optional(),
  resources: SpecResources,
  env: Env,
  constraints: Constraints,
  killGracePeriodSeconds: Seconds.max(600).optional(),
};
// An image runs the spec's command inside it (image entrypoints are not used), so a command is required.
const needsSomethingToRun = (s: { command?: unknown }) => s.command !== undefined;
const RUN_ERROR = {
  error: 'expected a command (with an image, the command runs inside it)',
  path: ['command'],
};

const PortName = z.string().regex(/^[a-z][a-z0-9_]{0,30}$/, { error: 'expected a port name such as http' });

/** HealthCheckSpec probes an instance: HTTP/TCP on one of its ports (by name or index), or a command. */
export const HealthCheckSpec = z
  .strictObject({
    type: z.enum(['HTTP', 'TCP', 'COMMAND'], { error: 'expected HTTP, TCP or COMMAND' }),
    port: z.union([PortName, NonNegativeInt]).default(0),
    path: z.string().regex(/^\//, { error: 'a path starts with /' }).default('/'),
    command: z.string().min(1).optional(),
    delaySeconds: Seconds.default(1),
    intervalSeconds: PositiveSeconds.default(2),
    timeoutSeconds: PositiveSeconds.default(2),
    gracePeriodSeconds: Seconds.default(5),
    consecutiveFailures: NonNegativeInt.default(3),
  })
  .refine((h) => h.type !== 'COMMAND' || !!h.command, {
    error: 'a COMMAND health check needs a command',
    path: ['command'],
  });
export type HealthCheckSpec = z.infer<typeof HealthCheckSpec>;

/** UpgradeStrategy bounds a rolling upgrade (Marathon's upgradeStrategy). */
export const UpgradeStrategy = z
  .strictObject({
    minHealthCapacity: Fraction.default(1),
    maxOverCapacity: Fraction.default(1),
    rollbackOnFailure: z.boolean({ error: 'expected true or false' }).default(true),
    /** A new version with no healthy instance for this long after the rollout began has failed. */
    progressDeadlineSeconds: PositiveSeconds.default(120),
    /** A new version whose instances failed this many times has failed. */
    maxFailures: PositiveInt.default(3),
  })
  .prefault({})
  .refine((u) => u.minHealthCapacity < 1 || u.maxOverCapacity > 0, {
    error: 'minHealthCapacity 1 with maxOverCapacity 0 leaves no room to replace an instance',
    path: ['maxOverCapacity'],
  });
export type UpgradeStrategy = z.infer<typeof UpgradeStrategy>;

/** ServiceSpec is a long-running service kept at `instances` healthy copies. */
export const ServiceSpec = z
  .strictObject({
    kind: z.literal('Service'),
    name: AppName,
    ...Runnable,
    instances: NonNegativeInt.default(1),
    ports: z
      .union([z.array(PortName).max(16), NonNegativeInt.max(16)], {
        error: 'expected a list of port names or a count',
      })
      .default([]),
    healthCheck: HealthCheckSpec.optional(),
    restart: Backoff,
    upgrade: UpgradeStrategy,
  })
  .refine(needsSomethingToRun, RUN_ERROR)
  .superRefine((s, ctx) => {
    const p = s.healthCheck?.port;
    if (!s.healthCheck || s.healthCheck.type === 'COMMAND' || p === undefined) return;
    const names = Array.isArray(s.ports) ? s.ports : [];
    const count = Array.isArray(s.ports) ? s.ports.length : s.ports;
    if (typeof p === 'string' ? !names.includes(p) : p >= count)
      ctx.addIssue({
        code: 'custom',
        path: ['healthCheck', 'port'],
        message: `no such port "${p}" in ports`,
      });
  });
export type ServiceSpec = z.infer<typeof ServiceSpec>;

const JobFields = {
  ...Runnable,
  completions: PositiveInt.default(1),
  parallelism: PositiveInt.default(1),
  /** Retries of each completion after a failure, before the job fails. */
  retries: NonNegativeInt.default(0),
  backoff: Backoff,
  activeDeadlineSeconds: PositiveSeconds.optional(),
};

/** JobSpec runs `completions` successful tasks, `parallelism` at a time. */
export const JobSpec = z
  .strictObject({ kind: z.literal('Job'), name: AppName, ...JobFields })
  .refine(needsSomethingToRun, RUN_ERROR);
export type JobSpec = z.infer<typeof JobSpec>;

/** JobTemplate is a Job without kind and name (a cron job names each run). */
export const JobTemplate = z.strictObject(JobFields).refine(needsSomethingToRun, RUN_ERROR);
export type JobTemplate = z.infer<typeof JobTemplate>;

/** ConcurrencyPolicy says what a cron job does when a run is due while the previous one still runs. */
export const ConcurrencyPolicy = { allow: 'allow', forbid: 'forbid', replace: 'replace' } as const;
export type ConcurrencyPolicy = (typeof ConcurrencyPolicy)[keyof typeof ConcurrencyPolicy];

/** CronJobSpec fires a Job from `job` on `schedule`, in `timeZone`. */
export const CronJobSpec = z.strictObject({
  kind: z.literal('CronJob'),
  name: AppName.refine((n) => n.length <= 28, {
    error: 'a cron job name has at most 28 characters (runs append a time)',
  }),
  schedule: CronSchedule,
  timeZone: TimeZone.default('UTC'),
  concurrencyPolicy: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(['allow', 'forbid', 'replace'], { error: 'expected allow, forbid or replace' }))
    .default('allow'),
  /** A run not started within this many seconds of its time is skipped (missed). */
  startingDeadlineSeconds: PositiveSeconds.optional(),
  successfulJobsHistoryLimit: NonNegativeInt.default(3),
  failedJobsHistoryLimit: NonNegativeInt.default(1),
  suspend: z.boolean({ error: 'expected true or false' }).default(false),
  job: JobTemplate,
});
export type CronJobSpec = z.infer<typeof CronJobSpec>;

/** AppSpec is any of the three kinds. */
export const AppSpec = z.discriminatedUnion('kind', [ServiceSpec, JobSpec, CronJobSpec]);
export type AppSpec = z.infer<typeof AppSpec>;
export type AppSpecInput = z.input<typeof AppSpec>;

/** SCHEMA_OF picks the schema of a kind. */
export const SCHEMA_OF = { Service: ServiceSpec, Job: JobSpec, CronJob: CronJobSpec } as const;
