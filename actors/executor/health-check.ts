import type { HealthCheck } from '../../protocol/index.js';

/** HealthTimings is the part of a HealthCheck that the counting needs (seconds, as on the wire). */
export type HealthTimings = Pick<
  HealthCheck,
  'delaySeconds' | 'intervalSeconds' | 'gracePeriodSeconds' | 'consecutiveFailures'
>;

/** HealthCounter is what the executor remembers about its task's health checks: plain data. */
export interface HealthCounter {
  /** When the task started running (ms); the delay and the grace period count from here. */
  startedAt: number;
  /** Failures in a row that counted (outside the grace period), reset by a success. */
  consecutiveFailures: number;
  /** The verdict last reported to the agent; absent until the first one. */
  healthy?: boolean;
  /** True until the first success: only then may failures fall in the grace period and be ignored. */
  initializing: boolean;
}

/** ProbeResult is one probe's outcome and the moment it came back (ms). */
export interface ProbeResult {
  ok: boolean;
  at: number;
}

/** HealthVerdict is what one probe result decides. */
export interface HealthVerdict {
  counter: HealthCounter;
  /** The verdict to report, present only when it differs from the one last reported. */
  report?: { healthy: boolean };
  /** The task must be killed: `consecutiveFailures` failures in a row (never when that is 0). */
  kill: boolean;
  /** Whether this failure was ignored because the task is still in its grace period. */
  ignored: boolean;
  /** When the next probe is due (ms): `intervalSeconds` after this one came back. */
  nextProbeAt: number;
}

/** startHealth is the counter of a task that started running at `startedAt` (ms). */
export function startHealth(startedAt: number): HealthCounter {
  return { startedAt, consecutiveFailures: 0, initializing: true };
}

/** firstProbeAt is when the first probe is due: `delaySeconds` after the task started. */
export function firstProbeAt(spec: HealthTimings, counter: HealthCounter): number {
  return counter.startedAt + spec.delaySeconds * 1000;
}

/**
 * recordProbe counts one probe result, as Mesos's health checker does. A success resets the
 * failure count, ends the grace period for good, and reports healthy if the last verdict was not
 * healthy (so the first success after the start reports `healthy: true`). A failure while the task
 * has never passed and is still within `gracePeriodSeconds` of its start is ignored. Any other
 * failure counts: it reports unhealthy if the last verdict was not unhealthy, and once
 * `consecutiveFailures` failures in a row have counted the task must be killed (0: never).
 */
export function recordProbe(spec: HealthTimings, counter: HealthCounter, result: ProbeResult): HealthVerdict {
  const nextProbeAt = result.at + spec.intervalSeconds * 1000;
  if (result.ok) {
    const next: HealthCounter = { ...counter, consecutiveFailures: 0, initializing: false, healthy: true };
    return {
      counter: next,
      report: counter.healthy === true ? undefined : { healthy: true },
      kill: false,
      ignored: false,
      nextProbeAt,
    };
  }
  const inGrace = counter.initializing && result.at - counter.startedAt <= spec.gracePeriodSeconds * 1000;
  if (inGrace) return { counter: { ...counter }, kill: false, ignored: true, nextProbeAt };
  const failures = counter.consecutiveFailures + 1;
  return {
    counter: { ...counter, consecutiveFailures: failures, healthy: false },
    report: counter.healthy === false ? undefined : { healthy: false },
    kill: spec.consecutiveFailures > 0 && failures >= spec.consecutiveFailures,
    ignored: false,
    nextProbeAt,
  };
}
