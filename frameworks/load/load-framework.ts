import { DURATION_LABEL } from '../../actors/simulator/index.js';
import type { Bus, Logger } from '../../bus/index.js';
import { silentLogger } from '../../bus/index.js';
import {
  isTerminal,
  Limits,
  type Offer,
  type Resources,
  TaskState,
  type TaskStatus,
} from '../../protocol/index.js';
import { Scheduler } from '../sdk/index.js';
import { Latencies } from './latency.js';
import { tasksThatFit } from './packing.js';

/** LoadOptions configure K framework instances launching short tasks as fast as offers allow. */
export interface LoadOptions {
  /** One connection shared by every framework instance. */
  bus: Bus;
  prefix?: string;
  /** How many framework instances (K). */
  frameworks: number;
  /** How many tasks in all, spread evenly over the frameworks. */
  tasks: number;
  /** Each task's resources. */
  taskResources: Resources;
  /** How long each task runs on a simulated agent (label); unset: the agents' default. */
  taskDurationMs?: number | 'forever';
  /** Framework ids are `<idPrefix>-<i>` (default `load`). */
  idPrefix?: string;
  /**
   * Submit tasks at this rate (tasks/s over all frameworks) instead of all at once. Latency is
   * then measured from submission, waiting for an offer included; otherwise from the ACCEPT.
   */
  ratePerSecond?: number;
  /** The most tasks packed into one offer (default the protocol's cap per ACCEPT). */
  maxTasksPerOffer?: number;
  /** A task id prefix, so that two runs against one master never reuse an id. */
  taskPrefix?: string;
  role?: string;
  /**
   * The most offers one instance holds while it has tasks to come (default: every offer it is
   * given); the rest are declined for 30 s. A cap below the offers a framework gets makes the
   * declined ones go round the other frameworks, each declining them in turn, and come back when
   * the filters expire: at 5,000 agents and 10 frameworks capped at 256, that bounce was most of
   * the master's work and the whole tail of the churn benchmark.
   */
  maxPooledOffers?: number;
  /** Tasks launched and not yet RUNNING, over all frameworks (default 5000): the framework's backpressure. */
  maxInFlight?: number;
  /** Acknowledge the updates of one turn of the event loop in one ACKNOWLEDGE_BATCH (default true). */
  batchAcks?: boolean;
  /** Keep each task's ACCEPT and RUNNING times too, for `slowest` (8 bytes a task each). */
  traceHops?: boolean;
  /**
   * Only the first `sampleFirst` tasks submitted are latency samples (default all). A churn
   * measurement submits more than it samples, so that the load winding down (each instance
   * giving back its offers once its share is launched) comes after the sampled tasks.
   */
  sampleFirst?: number;
  log?: Logger;
  now?: () => number;
}

/** TaskHops are one task's times (the `now` clock, ms) at the hops the framework sees. */
export interface TaskHops {
  taskId: string;
  frameworkId: string;
  submittedAt: number;
  /** When its ACCEPT was sent: the wait for an offer ends here. */
  launchedAt: number;
  /** When its TASK_RUNNING arrived. */
  runningAt: number;
  latencyMs: number;
}

/** LoadStats counts a run's tasks by what became of them. */
export interface LoadStats {
  frameworks: number;
  subscribed: number;
  tasks: number;
  submitted: number;
  launched: number;
  running: number;
  finished: number;
  failed: number;
  /** Terminal updates acknowledged (the master answered the ACKNOWLEDGE ok). */
  terminalAcked: number;
  acks: number;
  ackErrors: number;
  launchErrors: number;
  offers: number;
  accepts: number;
  declines: number;
}

/** LoadRun is a running load. */
export interface LoadRun {
  stats(): LoadStats;
  /** Submit-to-RUNNING latencies (ms). */
  readonly latencies: Latencies;
  /** Resolves when `pred` holds on the stats; rejects after `timeoutMs` with the stats. */
  until(pred: (s: LoadStats) => boolean, timeoutMs: number): Promise<LoadStats>;
  /** Every task ended and its terminal update was acknowledged (or failed). */
  done(s: LoadStats): boolean;
  /** The `n` sampled tasks with the longest submit-to-RUNNING, slowest first (needs `traceHops`). */
  slowest(n: number): TaskHops[];
  /** Submit `n` more tasks now (rate mode does it by itself). */
  submit(n: number): void;
  /** Stops submitting and closes the frameworks (without teardown unless asked). */
  stop(opts?: { teardown?: boolean }): Promise<void>;
}

const T_SUBMITTED = 1;
const T_LAUNCHED = 2;
const T_RUNNING = 3;
const T_ENDED = 4;

interface Instance {
  id: string;
  scheduler?: Scheduler;
  /** This framework's tasks are seq first..first+count-1 of the run. */
  first: number;
  count: number;
  /** Next of its tasks to submit, and to launch. */
  nextSubmit: number;
  nextLaunch: number;
  suppressed: boolean;
  /** Offers held until tasks may be launched on them. */
  pool: Offer[];
  /** Tasks launched and not yet RUNNING (or ended). */
  inFlight: number;
  /** Updates to acknowledge at the end of this turn. */
  acks: TaskStatus[];
}

/**
 * startLoad subscribes K framework instances on the SDK and launches the run's tasks on every
 * offer, packing as many tasks into each offer as fit (one ACCEPT per offer), acknowledging
 * every status update explicitly so that a run only ends when each terminal update is acked.
 */
export async function startLoad(opts: LoadOptions): Promise<LoadRun> {
  const log = opts.log ?? silentLogger;
  const now = opts.now ?? (() => performance.now());
  const K = opts.frameworks;
  const total = opts.tasks;
  const idPrefix = opts.idPrefix ?? 'load';
  const taskPrefix = opts.taskPrefix ?? 't';
  const perOffer = Math.min(opts.maxTasksPerOffer ?? Limits.maxTasksPerAccept, Limits.maxTasksPerAccept);
  const labels =
    opts.taskDurationMs === undefined ? undefined : { [DURATION_LABEL]: String(opts.taskDurationMs) };
  const state = new Uint8Array(total);
  const submittedAt = new Float64Array(total);
  const launchedAt = opts.traceHops ? new Float64Array(total) : undefined;
  const runningAt = opts.traceHops ? new Float64Array(total) : undefined;
  const latencies = new Latencies(Math.min(total, 1 << 20));
  const sampleFirst = opts.sampleFirst ?? total;
  if (!(Number.isInteger(sampleFirst) && sampleFirst >= 0))
    throw new RangeError(`sampleFirst must be a non-negative integer, not ${opts.sampleFirst}`);
  /** sampled[seq] is 1 for the tasks whose latency counts (the first sampleFirst submitted). */
  const sampled = new Uint8Array(total);
  const stats: LoadStats = {
    frameworks: K,
    subscribed: 0,
    tasks: total,
    submitted: 0,
    launched: 0,
    running: 0,
    finished: 0,
    failed: 0,
    terminalAcked: 0,
    acks: 0,
    ackErrors: 0,
    launchErrors: 0,
    offers: 0,
    accepts: 0,
    declines: 0,
  };
  const fromAccept = opts.ratePerSecond === undefined;
  const maxInFlight = opts.maxInFlight ?? 5000;
  /** Tasks launched and not yet RUNNING, over every instance: the shared budget maxInFlight caps. */
  let inFlight = 0;
  let pumpAllScheduled = false;
  let pumpFrom = 0;
  /** pumpAll spends freed budget on every instance in turn, starting where the last pass stopped. */
  const pumpAll = () => {
    pumpAllScheduled = false;
    for (let k = 0; k < K && inFlight < maxInFlight; k++) pump(instances[(pumpFrom + k) % K]);
    pumpFrom = (pumpFrom + 1) % K;
  };
  const maxPool = opts.maxPooledOffers ?? Number.POSITIVE_INFINITY;
  if (maxPool !== Number.POSITIVE_INFINITY && !(Number.isInteger(maxPool) && maxPool >= 0))
    throw new RangeError(`maxPooledOffers must be a non-negative integer, not ${opts.maxPooledOffers}`);
  let stopped = false;

  const instances: Instance[] = [];
  let first = 0;
  for (let i = 0; i < K; i++) {
    const count = Math.floor(total / K) + (i < total % K ? 1 : 0);
    instances.push({
      id: `${idPrefix}-${i}`,
      first,
      count,
      nextSubmit: first,
      nextLaunch: first,
      suppressed: false,
      pool: [],
      inFlight: 0,
      acks: [],
    });
    first += count;
  }
  const seqOf = (taskId: string) => Number(taskId.slice(taskId.lastIndexOf('-') + 1));

  const submitTo = (inst: Instance, n: number) => {
    const t = now();
    const end = Math.min(inst.first + inst.count, inst.nextSubmit + n);
    for (let s = inst.nextSubmit; s < end; s++) {
      state[s] = T_SUBMITTED;
      submittedAt[s] = t;
      if (stats.submitted < sampleFirst) sampled[s] = 1;
      stats.submitted++;
    }
    inst.nextSubmit = end;
    if (inst.suppressed && inst.nextLaunch < inst.nextSubmit && inst.scheduler) {
      inst.suppressed = false;
      inst.scheduler.revive().catch((err) => log.debug({ err }, 'revive failed'));
    }
    pump(inst);
  };

  /** launchOn packs `n` waiting tasks into one ACCEPT of the offer. */
  const launchOn = (inst: Instance, s: Scheduler, offer: Offer, n: number) => {
    const t = now();
    const tasks = [];
    const seqs: number[] = [];
    for (let k = 0; k < n; k++) {
      const seq = inst.nextLaunch++;
      seqs.push(seq);
      state[seq] = T_LAUNCHED;
      if (fromAccept) submittedAt[seq] = t;
      if (launchedAt) launchedAt[seq] = t;
      tasks.push({
        taskId: `${taskPrefix}-${seq}`,
        name: 'load',
        agentId: offer.agentId,
        resources: opts.taskResources,
        command: { value: 'true' },
        ...(labels ? { labels } : {}),
      });
    }
    inst.inFlight += n;
    inFlight += n;
    stats.launched += n;
    stats.accepts++;
    s.launch(offer.id, tasks).catch((err) => {
      stats.launchErrors++;
      log.warn({ err, offerId: offer.id }, 'ACCEPT failed');
      for (const seq of seqs) {
        if (state[seq] === T_LAUNCHED) {
          state[seq] = T_ENDED;
          inst.inFlight--;
          inFlight--;
          stats.failed++;
        }
      }
    });
  };

  /**
   * pump launches waiting tasks on pooled offers while fewer than maxInFlight are on their way to
   * RUNNING; once every task is launched the pool is declined and the framework suppresses itself.
   */
  const pump = (inst: Instance) => {
    const s = inst.scheduler;
    if (!s) return;
    const idle: string[] = [];
    while (!stopped && inst.pool.length > 0 && inFlight < maxInFlight && inst.nextLaunch < inst.nextSubmit) {
      const offer = inst.pool.shift() as Offer;
      const n = Math.min(
        inst.nextSubmit - inst.nextLaunch,
        maxInFlight - inFlight,
        tasksThatFit(offer.resources, opts.taskResources, perOffer),
      );
      if (n > 0) launchOn(inst, s, offer, n);
      else idle.push(offer.id);
    }
    const allLaunched = inst.nextLaunch >= inst.first + inst.count;
    if (stopped || allLaunched) idle.push(...inst.pool.splice(0).map((o) => o.id));
    else if (inst.pool.length > maxPool) idle.push(...inst.pool.splice(maxPool).map((o) => o.id));
    if (idle.length > 0) {
      stats.declines += idle.length;
      // Offers beyond what the pool keeps stay away a while: re-offered every second, they would
      // keep the master busy making and taking back offers nobody uses.
      const refuseSeconds = allLaunched ? 3600 : 30;
      for (let i = 0; i < idle.length; i += Limits.maxOffersPerCall)
        s.decline(idle.slice(i, i + Limits.maxOffersPerCall), { refuseSeconds }).catch(() => {});
    }
    // Suppressed only once its share is launched: a framework idle for a moment between rate-mode
    // submissions that suppressed itself would miss the resources freed meanwhile (handed to
    // the others) and wait for the next allocation interval after its REVIVE.
    if (allLaunched && !inst.suppressed) {
      inst.suppressed = true;
      s.suppress().catch(() => {});
    }
  };

  const onOffers = (inst: Instance, offers: Offer[]) => {
    stats.offers += offers.length;
    inst.pool.push(...offers);
    pump(inst);
  };

  const onUpdate = (inst: Instance, status: TaskStatus) => {
    const seq = seqOf(status.taskId);
    // Tasks that are not this run's (known from agents after a failover) are acknowledged only.
    if (ours(inst, status)) track(inst, seq, status);
    if (!status.uuid || !inst.scheduler) return;
    if (opts.batchAcks === false) return ackOne(inst, status);
    inst.acks.push(status);
    if (inst.acks.length === 1) setImmediate(() => ackBatch(inst));
  };
  const ours = (inst: Instance, status: TaskStatus) => {
    const seq = seqOf(status.taskId);
    return status.taskId.startsWith(`${taskPrefix}-`) && seq >= inst.first && seq < inst.first + inst.count;
  };
  const track = (inst: Instance, seq: number, status: TaskStatus) => {
    const was = state[seq];
    if (was === T_LAUNCHED && (status.state === TaskState.RUNNING || isTerminal(status.state))) {
      inst.inFlight--;
      inFlight--;
      if (!pumpAllScheduled) {
        pumpAllScheduled = true;
        setImmediate(pumpAll);
      }
    }
    if (status.state === TaskState.RUNNING && was !== T_RUNNING && was !== T_ENDED) {
      state[seq] = T_RUNNING;
      stats.running++;
      const t = now();
      if (runningAt) runningAt[seq] = t;
      if (sampled[seq]) latencies.add(t - submittedAt[seq]);
    } else if (isTerminal(status.state) && was !== T_ENDED) {
      if (was === T_RUNNING) stats.running--;
      state[seq] = T_ENDED;
      if (status.state === TaskState.FINISHED) stats.finished++;
      else {
        stats.failed++;
        log.warn({ taskId: status.taskId, state: status.state, reason: status.reason }, 'task failed');
      }
    }
  };
  const acked = (inst: Instance, status: TaskStatus) => {
    if (!ours(inst, status)) return;
    stats.acks++;
    if (isTerminal(status.state)) stats.terminalAcked++;
  };
  const ackOne = (inst: Instance, status: TaskStatus) => {
    inst.scheduler?.acknowledge(status).then(
      () => acked(inst, status),
      (err) => {
        stats.ackErrors++;
        log.debug({ err, taskId: status.taskId }, 'acknowledge failed');
      },
    );
  };
  /** ackBatch sends one ACKNOWLEDGE_BATCH; if the master refuses it, each ack goes on its own. */
  const ackBatch = (inst: Instance) => {
    const statuses = inst.acks.splice(0, Limits.maxBatch);
    if (inst.acks.length > 0) setImmediate(() => ackBatch(inst));
    const acks = statuses.map((s) => ({
      agentId: s.agentId as string,
      taskId: s.taskId,
      uuid: s.uuid as string,
    }));
    inst.scheduler?.call({ type: 'ACKNOWLEDGE_BATCH', acks }).then(
      () => {
        for (const s of statuses) acked(inst, s);
      },
      (err) => {
        log.debug({ err }, 'ACKNOWLEDGE_BATCH refused; acknowledging one by one');
        for (const s of statuses) ackOne(inst, s);
      },
    );
  };

  await Promise.all(
    instances.map(async (inst) => {
      inst.scheduler = await Scheduler.start({
        nats: opts.bus,
        prefix: opts.prefix,
        framework: {
          id: inst.id,
          name: `load-${inst.id}`,
          failoverTimeoutSeconds: 3600,
          ...(opts.role ? { roles: [opts.role] } : {}),
        },
        autoAcknowledge: false,
        log,
        requestTimeoutMs: 30_000,
        handlers: {
          offers: (offers) => onOffers(inst, offers),
          rescind: (offerId) => {
            inst.pool = inst.pool.filter((o) => o.id !== offerId);
          },
          update: (status) => onUpdate(inst, status),
        },
      });
      await inst.scheduler.subscribed();
      stats.subscribed++;
    }),
  );

  let rateTimer: NodeJS.Timeout | undefined;
  if (opts.ratePerSecond === undefined) {
    for (const inst of instances) submitTo(inst, inst.count);
  } else {
    const rate = opts.ratePerSecond;
    let owed = 0;
    let last = now();
    let rr = 0;
    rateTimer = setInterval(() => {
      const t = now();
      owed += ((t - last) / 1000) * rate;
      last = t;
      while (owed >= 1 && stats.submitted < total) {
        const inst = instances[rr++ % K];
        if (inst.nextSubmit >= inst.first + inst.count) continue;
        submitTo(inst, 1);
        owed--;
      }
      if (stats.submitted >= total) clearInterval(rateTimer);
    }, 10);
  }

  const done = (s: LoadStats) => s.finished + s.failed >= total && s.terminalAcked + s.failed >= total;
  return {
    stats: () => ({ ...stats }),
    latencies,
    done,
    until(pred, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      return new Promise<LoadStats>((resolve, reject) => {
        const check = () => {
          const s = { ...stats };
          if (pred(s)) return resolve(s);
          if (Date.now() > deadline)
            return reject(new Error(`load did not get there in ${timeoutMs} ms: ${JSON.stringify(s)}`));
          setTimeout(check, 25);
        };
        check();
      });
    },
    slowest(n) {
      if (!launchedAt || !runningAt) throw new Error('slowest needs the load started with traceHops');
      const seqs: number[] = [];
      for (let seq = 0; seq < total; seq++) if (sampled[seq] && runningAt[seq] > 0) seqs.push(seq);
      const latency = (seq: number) => runningAt[seq] - submittedAt[seq];
      seqs.sort((a, b) => latency(b) - latency(a));
      return seqs.slice(0, n).map((seq) => ({
        taskId: `${taskPrefix}-${seq}`,
        frameworkId: (instances.find((i) => seq >= i.first && seq < i.first + i.count) as Instance).id,
        submittedAt: submittedAt[seq],
        launchedAt: launchedAt[seq],
        runningAt: runningAt[seq],
        latencyMs: latency(seq),
      }));
    },
    submit(n) {
      let left = n;
      for (const inst of instances) {
        if (left <= 0) break;
        const before = inst.nextSubmit;
        submitTo(inst, left);
        left -= inst.nextSubmit - before;
      }
    },
    async stop({ teardown = false } = {}) {
      stopped = true;
      if (rateTimer) clearInterval(rateTimer);
      await Promise.all(
        instances.map((inst) =>
          teardown ? inst.scheduler?.teardown().catch(() => {}) : inst.scheduler?.close('load done'),
        ),
      );
    },
  };
}
