import { Cron } from 'croner';
import type { ConcurrencyPolicy } from '../apps/spec.js';

function cronOf(schedule: string, timeZone: string): Cron {
  return new Cron(schedule, { timezone: timeZone, paused: true });
}

/** latestRun is the newest scheduled time at or before `now` (ms), or undefined when there is none. */
export function latestRun(schedule: string, timeZone: string, now: number): number | undefined {
  const [d] = cronOf(schedule, timeZone).previousRuns(1, new Date(now));
  return d && d.getTime() <= now ? d.getTime() : undefined;
}

/** nextRun is the first scheduled time after `now`. */
export function nextRun(schedule: string, timeZone: string, now: number): number | undefined {
  return cronOf(schedule, timeZone).nextRun(new Date(now))?.getTime();
}

/** Due is what a cron job's schedule asks for now. */
export type Due =
  | { kind: 'none' }
  | { kind: 'fire'; at: number }
  | { kind: 'missed'; at: number; lateMs: number };

/**
 * due decides whether a run is due: the newest scheduled time after `lastScheduled` (older ones
 * that were never started are skipped, as Kubernetes does). It is missed when it is more than
 * `startingDeadlineSeconds` old, which is what a framework that was down for a while sees.
 */
export function due(
  schedule: string,
  timeZone: string,
  lastScheduled: number,
  now: number,
  startingDeadlineSeconds?: number,
): Due {
  const at = latestRun(schedule, timeZone, now);
  if (at === undefined || at <= lastScheduled) return { kind: 'none' };
  const lateMs = now - at;
  if (startingDeadlineSeconds !== undefined && lateMs > startingDeadlineSeconds * 1000)
    return { kind: 'missed', at, lateMs };
  return { kind: 'fire', at };
}

/** ConcurrencyVerdict is what to do with a due run given the runs still active. */
export type ConcurrencyVerdict = 'run' | 'skip' | 'replace';

/** concurrency applies the policy: allow runs side by side, forbid skips, replace ends the old ones first. */
export function concurrency(policy: ConcurrencyPolicy, activeRuns: number): ConcurrencyVerdict {
  if (activeRuns === 0 || policy === 'allow') return 'run';
  return policy === 'forbid' ? 'skip' : 'replace';
}

/** runName names the job of the run scheduled at `at`: the same run always gets the same name. */
export function runName(cronName: string, at: number): string {
  return `${cronName}-${Math.floor(at / 1000)}`;
}

/**
 * prunedHistory picks the finished runs to delete: beyond the newest `keepSucceeded` succeeded and
 * `keepFailed` failed ones.
 */
export function prunedHistory(
  runs: readonly { job: string; scheduledAt: number; phase: string }[],
  keepSucceeded: number,
  keepFailed: number,
): string[] {
  const newestFirst = [...runs].sort((a, b) => b.scheduledAt - a.scheduledAt);
  const drop = (phase: string, keep: number) =>
    newestFirst
      .filter((r) => r.phase === phase)
      .slice(keep)
      .map((r) => r.job);
  return [...drop('Succeeded', keepSucceeded), ...drop('Failed', keepFailed)];
}
