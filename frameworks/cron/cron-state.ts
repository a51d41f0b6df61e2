import { z } from 'zod';
import { CronJobSpec } from '../apps/spec.js';

/** CronRun is one job the cron job started, and how it ended. */
export const CronRun = z.object({ job: z.string(), scheduledAt: z.number(), phase: z.string() });
export type CronRun = z.infer<typeof CronRun>;

/**
 * CronState is what the cron framework keeps about one cron job (persisted in KV):
 * `lastScheduleTime` is written before a run's job is created, and `pending` names that job until
 * the jobs framework has it, so a restart neither fires a run twice nor loses one.
 */
export const CronState = z.object({
  spec: CronJobSpec,
  createdAt: z.number(),
  lastScheduleTime: z.number(),
  pending: z.object({ job: z.string(), at: z.number() }).optional(),
  active: z.array(z.string()),
  runs: z.array(CronRun),
  events: z.array(z.object({ at: z.number(), message: z.string() })),
});
export type CronState = z.infer<typeof CronState>;
