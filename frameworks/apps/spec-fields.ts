import { Cron } from 'croner';
import { z } from 'zod';

/** Field schemas shared by the three spec kinds, each with the message a user should read. */

/** AppName names a service, job or cron job: lowercase DNS label, short enough to build task ids from. */
export const AppName = z.string({ error: 'expected a name' }).regex(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/, {
  error: 'expected 1-40 lowercase letters, digits or "-", starting and ending with a letter or digit',
});

export const PositiveInt = z
  .int({ error: 'expected a positive integer' })
  .positive({ error: 'expected a positive integer' })
  .max(10_000, { error: 'expected at most 10000' });
export const NonNegativeInt = z
  .int({ error: 'expected a non-negative integer' })
  .nonnegative({ error: 'expected a non-negative integer' })
  .max(10_000, { error: 'expected at most 10000' });
export const Seconds = z
  .number({ error: 'expected a number of seconds' })
  .finite({ error: 'expected a number of seconds' })
  .nonnegative({ error: 'expected a non-negative number of seconds' })
  .max(365 * 24 * 3600, { error: 'expected at most a year of seconds' });
export const PositiveSeconds = Seconds.refine((s) => s > 0, {
  error: 'expected a positive number of seconds',
});
export const Fraction = z
  .number({ error: 'expected a number between 0 and 1' })
  .min(0, { error: 'expected a number between 0 and 1' })
  .max(1, { error: 'expected a number between 0 and 1' });

/** SpecResources are what one instance or task asks for: cpus, mem (MB), disk (MB), gpus. */
export const SpecResources = z
  .strictObject({
    cpus: z
      .number({ error: 'expected a positive number of cpus' })
      .positive({ error: 'expected a positive number of cpus' })
      .max(1024)
      .default(0.1),
    mem: z
      .number({ error: 'expected a positive number of MB' })
      .positive({ error: 'expected a positive number of MB' })
      .max(1 << 24)
      .default(32),
    disk: z
      .number({ error: 'expected a non-negative number of MB' })
      .nonnegative({ error: 'expected a non-negative number of MB' })
      .max(1 << 30)
      .default(0),
    gpus: NonNegativeInt.default(0),
  })
  .prefault({});
export type SpecResources = z.infer<typeof SpecResources>;

/** Env is a task's environment: shell identifiers to strings. */
export const Env = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, { error: 'environment names are shell identifiers' }),
    z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string' }).transform(String),
    { error: 'expected a map of NAME: value' },
  )
  .default({});

/** Command is a shell command line, or an argv list run without a shell. */
export const Command = z.union(
  [z.string().min(1, { error: 'expected a non-empty command' }), z.array(z.string()).min(1)],
  {
    error: 'expected a command line or a list of arguments',
  },
);

/** Image names a Docker image already present on the agents. */
export const Image = z.string().regex(/^\S+$/, { error: 'expected an image name without spaces' });

/** Backoff is a retry delay: `backoffSeconds`, times `backoffFactor` per failure, capped at `maxBackoffSeconds`. */
export const Backoff = z
  .strictObject({
    backoffSeconds: Seconds.default(1),
    backoffFactor: z
      .number({ error: 'expected a number >= 1' })
      .min(1, { error: 'expected a number >= 1' })
      .max(100)
      .default(2),
    maxBackoffSeconds: Seconds.default(60),
  })
  .prefault({});
export type Backoff = z.infer<typeof Backoff>;

/** backoffDelayMs is the delay before retry number `failures` (1 = after the first failure). */
export function backoffDelayMs(b: Backoff, failures: number): number {
  if (failures <= 0) return 0;
  return Math.round(
    Math.min(b.maxBackoffSeconds, b.backoffSeconds * b.backoffFactor ** Math.min(failures - 1, 40)) * 1000,
  );
}

/** TimeZone is an IANA zone name such as Europe/Paris. */
export const TimeZone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { error: 'expected an IANA time zone such as UTC or Europe/Paris' },
);

/** CronSchedule is a cron expression with 5 or 6 fields (seconds first when 6), checked by croner. */
export const CronSchedule = z.string({ error: 'expected a cron expression' }).superRefine((s, ctx) => {
  try {
    new Cron(s, { paused: true });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid cron expression: ${(err as Error).message}` });
  }
});
