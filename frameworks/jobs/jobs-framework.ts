import type { Offer, Subscribed, TaskStatus } from '../../protocol/index.js';
import { isTerminal, TaskState } from '../../protocol/index.js';
import type { AppsCall, JobView } from '../apps/api.js';
import { parseConstraint } from '../apps/constraints.js';
import { diffSpecs } from '../apps/diff.js';
import {
  type AppHost,
  type AppHostOptions,
  type AppLogic,
  badRequest,
  notFound,
  startAppHost,
} from '../apps/host.js';
import { offerPool, wantOf } from '../apps/offer-fit.js';
import { OutputTails } from '../apps/output-tail.js';
import { LaunchBatch, placeOne, settleOffers } from '../apps/placement.js';
import { JobSpec } from '../apps/spec.js';
import { formatSpecIssues } from '../apps/spec-file.js';
import { taskInfoFor } from '../apps/task-info.js';
import {
  activeTasks,
  counts,
  expire,
  type JobState,
  JobState as JobStateSchema,
  jobPlan,
  jobTaskId,
  launched,
  newJob,
  taskUpdated,
} from './progress.js';

const KEY = (name: string) => `job.${name}`;
const REVIVE_EVERY_MS = 1000;
const RECONCILE_EVERY_MS = 60_000;

/** JobsFramework is a running jobs framework. */
export interface JobsFramework {
  host: AppHost;
  stop(): Promise<void>;
}

/**
 * startJobsFramework runs the jobs framework: it loads its jobs from KV, subscribes (as the same
 * framework after a restart), reconciles what it believed was running and serves `apps.jobs`.
 */
export async function startJobsFramework(opts: AppHostOptions): Promise<JobsFramework> {
  const host = await startAppHost('Job', opts, (h) => jobsLogic(h));
  return { host, stop: () => host.stop() };
}

/** jobsLogic is the thin runtime around the pure job progress functions. */
function jobsLogic(host: AppHost): AppLogic {
  const { store, scheduler, clock, log } = host;
  const jobs = new Map<string, JobState>();
  const owner = new Map<string, string>();
  let loaded = false;
  let lastRevive = 0;
  let lastReconcile = clock.now();
  const liveTasks = () =>
    [...jobs.values()].flatMap((j) =>
      activeTasks(j).map(([taskId, t]) => ({ taskId, ...(t.agentId ? { agentId: t.agentId } : {}) })),
    );
  const tails = new OutputTails((taskId, onChunk) => scheduler.followOutput(taskId, onChunk));

  async function load(): Promise<void> {
    if (loaded) return;
    for (const key of await store.keys('job.')) {
      const job = await store.get(key, JobStateSchema);
      if (job) remember(job);
    }
    loaded = true;
  }
  function remember(job: JobState): void {
    jobs.set(job.spec.name, job);
    for (const id of Object.keys(job.tasks)) owner.set(id, job.spec.name);
  }
  async function save(job: JobState): Promise<void> {
    await store.put(KEY(job.spec.name), JobStateSchema, job);
    remember(job);
  }
  async function killAll(ids: string[], job: JobState): Promise<void> {
    for (const id of ids)
      await scheduler
        .kill(id, job.tasks[id]?.agentId)
        .catch((err) => log.warn({ err, taskId: id }, 'kill failed'));
  }
  async function reviveSoon(now: number): Promise<void> {
    if (now - lastRevive < REVIVE_EVERY_MS) return;
    lastRevive = now;
    await scheduler.revive().catch(() => {});
  }
  function view(job: JobState): JobView {
    const c = counts(job);
    return {
      name: job.spec.name,
      frameworkId: scheduler.frameworkId,
      spec: job.spec,
      phase: job.phase,
      ...c,
      createdAt: job.createdAt,
      ...(job.finishedAt !== undefined ? { finishedAt: job.finishedAt } : {}),
      ...(job.reason ? { reason: job.reason } : {}),
      ...(job.lastFailure ? { lastFailure: job.lastFailure } : {}),
      tasks: Object.entries(job.tasks).map(([taskId, t]) => ({
        taskId,
        index: t.index,
        attempt: t.attempt,
        state: t.state,
        ...(t.agentId ? { agentId: t.agentId } : {}),
      })),
      events: job.events,
    };
  }

  return {
    async subscribed(info: Subscribed) {
      await load();
      const active = liveTasks();
      lastReconcile = clock.now();
      log.info(
        { frameworkId: info.frameworkId, resubscribed: info.resubscribed, active: active.length },
        'subscribed; reconciling',
      );
      for (const a of active) tails.follow(a.taskId);
      if (active.length)
        await scheduler.reconcile(active).catch((err) => log.warn({ err }, 'reconcile failed'));
      await scheduler.revive().catch(() => {});
    },

    async offers(offers: Offer[]) {
      await load();
      const now = clock.now();
      const pool = offerPool(offers);
      const batch = new LaunchBatch();
      let wantsMore = false;
      for (const job of [...jobs.values()].sort((a, b) => a.createdAt - b.createdAt)) {
        if (job.phase !== 'Running') continue;
        const plan = jobPlan(job, now);
        let next = job;
        const constraints = job.spec.constraints.map(parseConstraint);
        for (const l of plan.launch) {
          const placed = activeTasks(next).map(([, t]) => ({
            hostname: t.hostname ?? '',
            attributes: t.attributes,
          }));
          const spot = placeOne(pool, wantOf(job.spec.resources), 0, constraints, placed);
          if (!spot) {
            wantsMore = true;
            break;
          }
          const taskId = jobTaskId(next, l.index, l.attempt);
          const env = { JOB_NAME: job.spec.name, JOB_INDEX: String(l.index), JOB_ATTEMPT: String(l.attempt) };
          tails.follow(taskId);
          batch.add(
            spot.offer,
            taskInfoFor(job.spec, taskId, `${job.spec.name}-${l.index}`, spot.fit, env, {
              'mezzo.job': job.spec.name,
            }),
          );
          next = launched(
            next,
            taskId,
            {
              ...l,
              agentId: spot.offer.agentId,
              hostname: spot.offer.hostname,
              attributes: spot.offer.attributes,
            },
            now,
          );
        }
        // Stored before the ACCEPT goes out: a restart knows every task it may have launched.
        if (next !== job) await save(next);
      }
      const failed = await settleOffers(scheduler, offers, batch, wantsMore);
      for (const f of failed) {
        for (const t of f.tasks) {
          await this.update({
            taskId: t.taskId,
            state: TaskState.DROPPED,
            source: 'SOURCE_MASTER',
            message: `launch refused: ${f.error.message}`,
            timestamp: now / 1000,
          });
        }
      }
    },

    async update(status: TaskStatus) {
      await load();
      const name = owner.get(status.taskId);
      const job = name ? jobs.get(name) : undefined;
      if (!job) {
        if (!isTerminal(status.state)) await scheduler.kill(status.taskId, status.agentId).catch(() => {});
        return;
      }
      if (isTerminal(status.state)) tails.unfollow(status.taskId);
      const next = taskUpdated(job, status, clock.now());
      if (next === job) return;
      await save(next);
      if (next.phase !== 'Running') await killAll(jobPlan(next, clock.now()).kill, next);
    },

    async tick(now: number) {
      await load();
      // Explicit reconciliation now and then: a lost update cannot strand a completion.
      if (now - lastReconcile >= RECONCILE_EVERY_MS) {
        lastReconcile = now;
        const active = liveTasks();
        if (active.length)
          await scheduler.reconcile(active).catch((err) => log.warn({ err }, 'reconcile failed'));
      }
      for (const job of jobs.values()) {
        const next = expire(job, now);
        if (next !== job) {
          await save(next);
          await killAll(jobPlan(next, now).kill, next);
          continue;
        }
        if (job.phase !== 'Running') continue;
        // Completions waiting out a backoff are not in the plan until their retry time.
        if (jobPlan(job, now).launch.length > 0) await reviveSoon(now);
      }
    },

    async call(call: AppsCall) {
      await load();
      const now = clock.now();
      switch (call.type) {
        case 'APPLY': {
          const r = JobSpec.safeParse(call.spec);
          if (!r.success)
            throw badRequest(formatSpecIssues(`jobs.${String(call.spec.name ?? '')}`, r.error).join('; '));
          const spec = r.data;
          const old = jobs.get(spec.name);
          if (old) {
            const changes = diffSpecs(old.spec, spec);
            if (changes.length === 0)
              return { name: spec.name, action: 'unchanged', changes: [], version: 1 };
            throw badRequest(
              `job ${spec.name} already exists with a different spec (${changes.join('; ')}); jobs cannot change: delete it first`,
            );
          }
          await save(newJob(spec, now));
          lastRevive = 0;
          await reviveSoon(now);
          return { name: spec.name, action: 'created', changes: [], version: 1 };
        }
        case 'LIST':
          return {
            items: [...jobs.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name)).map(view),
          };
        case 'GET': {
          const job = jobs.get(call.name);
          if (!job) throw notFound('Job', call.name);
          return view(job);
        }
        case 'DELETE': {
          const job = jobs.get(call.name);
          if (!job) throw notFound('Job', call.name);
          const active = activeTasks(job).map(([id]) => id);
          await killAll(active, job);
          await store.delete(KEY(call.name));
          jobs.delete(call.name);
          for (const id of Object.keys(job.tasks)) {
            owner.delete(id);
            tails.unfollow(id);
          }
          tails.keepOnly(new Set(owner.keys()));
          return {
            name: call.name,
            message: `job ${call.name} deleted${active.length ? `; killing ${active.length} task(s)` : ''}`,
          };
        }
        case 'LOGS': {
          const job = jobs.get(call.name) ?? jobs.get(owner.get(call.name) ?? '');
          if (!job) throw notFound('Job', call.name);
          const ids = jobs.has(call.name) ? Object.keys(job.tasks) : [call.name];
          return {
            frameworkId: scheduler.frameworkId,
            tasks: ids.map((taskId) => ({
              taskId,
              state: job.tasks[taskId]?.state ?? 'unknown',
              ...tails.get(taskId),
            })),
          };
        }
        default:
          throw badRequest(`jobs cannot ${call.type.toLowerCase()}; only services can`);
      }
    },
  };
}
