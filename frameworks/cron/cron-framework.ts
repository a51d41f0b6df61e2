import { type Clock, systemClock } from '../../actors/common/index.js';
import {
  type Bus,
  BusError,
  type Logger,
  RemoteError,
  silentLogger,
  type Unsubscribe,
} from '../../bus/index.js';
import { AppsCall, appsSubject, type CronJobView } from '../apps/api.js';
import { AppsClient } from '../apps/client.js';
import { diffSpecs } from '../apps/diff.js';
import { withEvent } from '../apps/events.js';
import { badRequest, notFound } from '../apps/host.js';
import { CronJobSpec, type JobSpec } from '../apps/spec.js';
import { formatSpecIssues } from '../apps/spec-file.js';
import { StepRunner } from '../apps/step-runner.js';
import { bucketName } from '../apps/task-text.js';
import { StateStore } from '../sdk/index.js';
import { type CronState, CronState as CronStateSchema } from './cron-state.js';
import { concurrency, due, nextRun, prunedHistory, runName } from './schedule.js';

const KEY = (name: string) => `cron.${name}`;

/** CronFrameworkOptions start the cron framework. */
export interface CronFrameworkOptions {
  /** A NatsBus: the KV bucket, the apps API and the jobs client share it. */
  bus: Bus;
  prefix?: string;
  log?: Logger;
  replicas?: number;
  /** How often schedules are checked (default 250 ms; schedules have seconds resolution). */
  tickMs?: number;
  clock?: Clock;
  /** Whether this copy may act now (under a lease: whether it still leads); default always. */
  acting?: () => boolean;
}

/** CronFramework is a running cron framework. */
export interface CronFramework {
  stop(): Promise<void>;
}

/**
 * startCronFramework runs the cron framework (Chronos's job): it fires each cron job's Job on
 * schedule through the jobs framework's API, applying the concurrency policy, the starting
 * deadline and the history limits, and serves `apps.cronjobs`. It launches no task itself.
 */
export async function startCronFramework(opts: CronFrameworkOptions): Promise<CronFramework> {
  const prefix = opts.prefix ?? 'mezzo.v1';
  const log = (opts.log ?? silentLogger).child({ framework: 'cronjobs' });
  const clock = opts.clock ?? systemClock;
  const store = await StateStore.open({
    bus: opts.bus,
    bucket: bucketName(prefix, 'cronjobs'),
    replicas: opts.replicas,
  });
  const jobs = new AppsClient(opts.bus, prefix, 5000);
  const crons = new Map<string, CronState>();
  for (const key of await store.keys('cron.')) {
    const s = await store.get(key, CronStateSchema);
    if (s) crons.set(s.spec.name, s);
  }

  async function save(s: CronState): Promise<CronState> {
    await store.put(KEY(s.spec.name), CronStateSchema, s);
    crons.set(s.spec.name, s);
    return s;
  }

  function jobOf(s: CronState, name: string): JobSpec {
    return { ...s.spec.job, kind: 'Job', name };
  }

  /** start creates the pending run's job (idempotent: the same name and spec is "unchanged"). */
  async function startPending(s: CronState, now: number): Promise<CronState> {
    const p = s.pending;
    if (!p) return s;
    try {
      await jobs.apply(jobOf(s, p.job));
    } catch (err) {
      log.warn({ err, job: p.job }, 'could not create the run; retrying');
      return s;
    }
    return save({
      ...s,
      pending: undefined,
      active: [...s.active, p.job],
      runs: [...s.runs, { job: p.job, scheduledAt: p.at, phase: 'Running' }],
      events: withEvent(s.events, now, `started ${p.job} (scheduled ${new Date(p.at).toISOString()})`),
    });
  }

  /** refresh learns how active runs ended, and deletes finished runs beyond the history limits. */
  async function refresh(s0: CronState, now: number): Promise<CronState> {
    let s = s0;
    for (const job of s.active) {
      let phase: string;
      try {
        phase = (await jobs.get('Job', job)).phase;
      } catch (err) {
        if (err instanceof RemoteError && err.code === 'NOT_FOUND') phase = 'Deleted';
        else continue;
      }
      if (phase === 'Running') continue;
      s = {
        ...s,
        active: s.active.filter((j) => j !== job),
        runs: s.runs.map((r) => (r.job === job ? { ...r, phase } : r)),
        events: withEvent(s.events, now, `${job} ${phase.toLowerCase()}`),
      };
    }
    for (const job of prunedHistory(
      s.runs,
      s.spec.successfulJobsHistoryLimit,
      s.spec.failedJobsHistoryLimit,
    )) {
      await jobs.delete('Job', job).catch(() => {});
      s = { ...s, runs: s.runs.filter((r) => r.job !== job) };
    }
    return s === s0 ? s : save(s);
  }

  /** step is one look at a cron job: finish a pending start, follow runs, fire what is due. */
  async function step(s0: CronState, now: number): Promise<void> {
    let s = await startPending(s0, now);
    if (s.pending) return;
    s = await refresh(s, now);
    if (s.spec.suspend) return;
    const d = due(s.spec.schedule, s.spec.timeZone, s.lastScheduleTime, now, s.spec.startingDeadlineSeconds);
    if (d.kind === 'none') return;
    const when = new Date(d.at).toISOString();
    if (d.kind === 'missed') {
      await save({
        ...s,
        lastScheduleTime: d.at,
        events: withEvent(
          s.events,
          now,
          `missed the run of ${when}: ${Math.round(d.lateMs / 1000)} s late, past the starting deadline of ${s.spec.startingDeadlineSeconds} s`,
        ),
      });
      return;
    }
    const verdict = concurrency(s.spec.concurrencyPolicy, s.active.length);
    if (verdict === 'skip') {
      await save({
        ...s,
        lastScheduleTime: d.at,
        events: withEvent(
          s.events,
          now,
          `skipped the run of ${when}: ${s.active.join(', ')} still running (forbid)`,
        ),
      });
      return;
    }
    if (verdict === 'replace') {
      for (const job of s.active) await jobs.delete('Job', job).catch(() => {});
      s = {
        ...s,
        active: [],
        runs: s.runs.map((r) => (s.active.includes(r.job) ? { ...r, phase: 'Replaced' } : r)),
        events: withEvent(s.events, now, `replaced ${s.active.join(', ')}`),
      };
    }
    // Recorded before the job exists: after a crash here the restart finishes this very run.
    s = await save({ ...s, lastScheduleTime: d.at, pending: { job: runName(s.spec.name, d.at), at: d.at } });
    await startPending(s, now);
  }

  function view(s: CronState): CronJobView {
    const next = s.spec.suspend ? undefined : nextRun(s.spec.schedule, s.spec.timeZone, clock.now());
    return {
      name: s.spec.name,
      spec: s.spec,
      lastScheduleTime: s.lastScheduleTime > s.createdAt ? s.lastScheduleTime : undefined,
      ...(next !== undefined ? { nextScheduleTime: next } : {}),
      active: s.active,
      runs: s.runs,
      events: s.events,
    };
  }

  async function handle(call: AppsCall): Promise<unknown> {
    const now = clock.now();
    switch (call.type) {
      case 'APPLY': {
        const r = CronJobSpec.safeParse(call.spec);
        if (!r.success)
          throw badRequest(formatSpecIssues(`cronjobs.${String(call.spec.name ?? '')}`, r.error).join('; '));
        const old = crons.get(r.data.name);
        if (!old) {
          await save({
            spec: r.data,
            createdAt: now,
            lastScheduleTime: now,
            active: [],
            runs: [],
            events: [{ at: now, message: `created: ${r.data.schedule} (${r.data.timeZone})` }],
          });
          return { name: r.data.name, action: 'created', changes: [], version: 1 };
        }
        const changes = diffSpecs(old.spec, r.data);
        if (changes.length)
          await save({
            ...old,
            spec: r.data,
            events: withEvent(old.events, now, `updated: ${changes.join('; ')}`),
          });
        return { name: r.data.name, action: changes.length ? 'updated' : 'unchanged', changes, version: 1 };
      }
      case 'LIST':
        return {
          items: [...crons.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name)).map(view),
        };
      case 'GET': {
        const s = crons.get(call.name);
        if (!s) throw notFound('CronJob', call.name);
        return view(s);
      }
      case 'DELETE': {
        const s = crons.get(call.name);
        if (!s) throw notFound('CronJob', call.name);
        for (const r of s.runs) await jobs.delete('Job', r.job).catch(() => {});
        await store.delete(KEY(call.name));
        crons.delete(call.name);
        return { name: call.name, message: `cronjob ${call.name} deleted with its ${s.runs.length} run(s)` };
      }
      default:
        throw badRequest(`cron jobs cannot ${call.type.toLowerCase()}; only services can`);
    }
  }

  async function tick(now: number): Promise<void> {
    for (const s of [...crons.values()])
      await step(s, now).catch((err) => log.error({ err, cron: s.spec.name }, 'cron step failed'));
  }
  // Ticks and requests run one at a time through the app machine, like the other frameworks' steps.
  const runner = new StepRunner(
    (st) => (st.type === 'TICK' ? tick(st.now) : handle((st as { call: AppsCall }).call)),
    log,
    opts.acting,
  );
  runner.ready();
  const stops: Unsubscribe[] = [
    opts.bus.serve(appsSubject(prefix, 'CronJob'), AppsCall, (call) =>
      runner.submit({ type: 'CALL', call }).catch((err) => {
        if (!(err instanceof BusError)) log.error({ err, call: call.type }, 'apps request failed');
        throw err;
      }),
    ),
  ];
  await opts.bus.flush();
  let ticking = false;
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    void runner
      .submit({ type: 'TICK', now: clock.now() })
      .catch(() => {})
      .finally(() => {
        ticking = false;
      });
  }, opts.tickMs ?? 250);
  return {
    async stop() {
      clearInterval(timer);
      for (const s of stops) s();
      await runner.stop();
    },
  };
}
