import { randomBytes } from 'node:crypto';
import {
  encode,
  type Logger,
  type NatsBus,
  parseWith,
  RemoteError,
  RequestMux,
  readReply,
  silentLogger,
} from '../../bus/index.js';
import {
  AgentCapability,
  AgentInfo,
  AgentToMaster,
  type AgentToMasterInput,
  type FrameworkInfo,
  isTerminal,
  Limits,
  MasterToBatchingAgent,
  MEZZO_VERSION,
  Registered,
  type Resources,
  type StatusUpdate,
  type Subjects,
  type TaskInfo,
  TaskState,
} from '../../protocol/index.js';
import { type Clock, systemClock } from '../common/index.js';
import { DueQueue } from './due-queue.js';
import {
  type Ctx,
  createSimAgent,
  digestRegistration,
  dueRetries,
  type EncodedRegistration,
  encodedRegistration,
  endTask,
  FOREVER,
  onControl,
  type SimAgent,
  SimPhase,
  type SimTask,
  taskDuration,
} from './sim-agent.js';

/** SeedTask is a task a simulated agent already holds when it first registers (a master failover shape). */
export interface SeedTask {
  framework: FrameworkInfo;
  task: TaskInfo;
  /** TASK_RUNNING, or a terminal state whose update is still to be acknowledged. */
  state: TaskState;
}

/** SimulatorOptions configure a process full of simulated agents. */
export interface SimulatorOptions {
  /** One NATS connection shared by every simulated agent. */
  bus: NatsBus;
  subjects: Subjects;
  agents: number;
  /** Each agent's resources (`cpus:32;mem:131072`, parsed). */
  resources: Resources;
  attributes?: Record<string, string>;
  /** Agent ids are `<idPrefix>-<n>` (default `sim-<random>`), so two simulators never clash. */
  idPrefix?: string;
  /** How long a task runs before TASK_FINISHED (default 0: RUNNING then FINISHED at once); a task's label `mezzo.sim/duration-ms` wins. */
  taskDurationMs?: number;
  /** An update not acknowledged after this long is sent again (default 10 s). */
  statusRetryMs?: number;
  /** REGISTER requests in flight at once (default 128). */
  registerConcurrency?: number;
  /**
   * Send REGISTERs through one reply subscription under this inbox prefix (bus/request-mux.ts)
   * rather than nats.js's request(), which builds a stack-traced Error for every request that
   * completes. The connection must be allowed to subscribe there (`_INBOX` on an unsecured
   * cluster). Default: nats.js's request().
   */
  requestInbox?: string;
  registerTimeoutMs?: number;
  /** Random backoff in [0, base * 2^n] capped, between failed REGISTERs (default 1 s, 60 s). */
  registrationBackoff?: { baseMs: number; capMs: number };
  /**
   * Declare BATCHING (default true): take RUN_TASKS and STATUS_UPDATE_ACKS, and send the updates
   * of one turn of the event loop as one STATUS_UPDATES when the master takes them.
   */
  batching?: boolean;
  /**
   * Re-register with a digest of the running tasks when the master's Registered lists
   * TASK_DIGEST (default true; false sends the tasks every time, as an older agent would).
   */
  digests?: boolean;
  /** Validate every outgoing message against the schema (default true; benchmarks may skip it). */
  validateOutgoing?: boolean;
  /** Tasks each agent holds before it first registers (by agent index). */
  seed?: (index: number, agentId: string) => SeedTask[];
  /** Called when an update is acknowledged, with when it was first sent. */
  onAcked?: (update: StatusUpdate, firstSentAt: number, now: number) => void;
  log?: Logger;
  clock?: Clock;
}

/** SimulatorStats counts what the simulated agents did. */
export interface SimulatorStats {
  agents: number;
  registered: number;
  registrations: number;
  registerFailures: number;
  /** REGISTERs that a master took with a tasks digest in place of the running tasks. */
  digestRegistrations: number;
  /** REGISTERs with a digest answered DIGEST_MISMATCH (then sent again in full, not counted as failures). */
  digestMismatches: number;
  heartbeats: number;
  launched: number;
  running: number;
  updatesSent: number;
  retries: number;
  acks: number;
  terminalAcked: number;
}

/** Simulator is a running set of simulated agents. */
export interface Simulator {
  readonly agentIds: readonly string[];
  stats(): SimulatorStats;
  /** Resolves once `count` agents (default all) are registered; rejects after `timeoutMs`. */
  whenRegistered(count?: number, timeoutMs?: number): Promise<void>;
  /** Ends up to `count` running tasks now with `state` (default TASK_FINISHED); returns how many. */
  endRunning(count: number, state?: TaskState): number;
  /** Stops every agent: with `unregister` each first says UNREGISTER (a graceful leave). */
  stop(opts?: { unregister?: boolean }): Promise<void>;
}

interface Entry {
  agent: SimAgent;
  toMaster: string;
  /** Updates to send at the end of this turn of the event loop. */
  outbox: StatusUpdate[];
  /** Its REGISTER as last encoded (and validated, when outgoing messages are), reused while the agent is unchanged. */
  registration?: EncodedRegistration;
  /** The same with a tasks digest (digestRegistration), for a master that takes one. */
  digestRegistration?: EncodedRegistration;
  /** The master answered DIGEST_MISMATCH: the next REGISTER lists the tasks in full. */
  sendTasks?: boolean;
}

/**
 * startSimulator runs many simulated agents in this process on one NATS connection. Each speaks
 * the real agent protocol (REGISTER with backoff, HEARTBEAT, RUN_TASK, reliable STATUS_UPDATE
 * retried until STATUS_UPDATE_ACK, KILL_TASK, SHUTDOWN_FRAMEWORK, REREGISTER after a master
 * restart, SHUTDOWN) but runs no process: a task is RUNNING at once and FINISHED after its duration.
 * The agents are plain records in a Map; one subscription, one timer and one heap serve them all.
 */
export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const { bus, subjects } = opts;
  const log = opts.log ?? silentLogger;
  const clock = opts.clock ?? systemClock;
  const durationMs = opts.taskDurationMs ?? 0;
  const retryMs = opts.statusRetryMs ?? 10_000;
  const concurrency = opts.registerConcurrency ?? 128;
  const registerTimeoutMs = opts.registerTimeoutMs ?? 10_000;
  const backoff = opts.registrationBackoff ?? { baseMs: 1000, capMs: 60_000 };
  const validate = opts.validateOutgoing ?? true;
  const idPrefix = opts.idPrefix ?? `sim-${randomBytes(3).toString('hex')}`;
  const session = randomBytes(4).toString('hex');
  let seq = 0;
  const mux =
    opts.requestInbox !== undefined ? new RequestMux(bus.nc, { inboxPrefix: opts.requestInbox }) : undefined;
  const ctx = (): Ctx => ({ now: clock.now(), uuid: () => `${session}-${(++seq).toString(36)}` });

  const stats: SimulatorStats = {
    agents: opts.agents,
    registered: 0,
    registrations: 0,
    registerFailures: 0,
    digestRegistrations: 0,
    digestMismatches: 0,
    heartbeats: 0,
    launched: 0,
    running: 0,
    updatesSent: 0,
    retries: 0,
    acks: 0,
    terminalAcked: 0,
  };
  const entries = new Map<string, Entry>();
  const list: Entry[] = [];
  const ends = new DueQueue<{ e: Entry; t: SimTask }>();
  const firstSent = new Map<string, number>();
  let stopped = false;

  const publish = (e: Entry, message: AgentToMasterInput) => {
    try {
      if (validate) bus.publish(e.toMaster, AgentToMaster, message);
      else bus.nc.publish(e.toMaster, encode(message));
    } catch (err) {
      log.warn({ err, agentId: e.agent.info.id }, 'could not send to the master');
    }
  };
  const sendUpdate = (e: Entry, update: StatusUpdate, retry = false) => {
    if (e.agent.phase !== SimPhase.REGISTERED) return;
    stats.updatesSent++;
    if (retry) stats.retries++;
    else if (opts.onAcked && update.status.uuid && !firstSent.has(update.status.uuid))
      firstSent.set(update.status.uuid, clock.now());
    e.outbox.push(update);
    if (e.outbox.length === 1) dirty.push(e);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };
  /** flush sends what each agent queued this turn: one STATUS_UPDATES to a master that takes them. */
  const dirty: Entry[] = [];
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    for (const e of dirty.splice(0)) {
      const updates = e.outbox.splice(0);
      if (e.agent.phase !== SimPhase.REGISTERED) continue;
      if (!masterBatches || updates.length === 1) {
        for (const update of updates) publish(e, { type: 'STATUS_UPDATE', update });
        continue;
      }
      for (let i = 0; i < updates.length; i += Limits.maxBatch)
        publish(e, { type: 'STATUS_UPDATES', updates: updates.slice(i, i + Limits.maxBatch) });
    }
  };
  let masterBatches = false;
  let masterDigests = false;

  for (let i = 0; i < opts.agents; i++) {
    const id = `${idPrefix}-${i}`;
    const info = AgentInfo.parse({
      id,
      hostname: `${id}.sim`,
      resources: opts.resources,
      attributes: opts.attributes ?? {},
      version: MEZZO_VERSION,
      capabilities: opts.batching === false ? [] : [AgentCapability.BATCHING],
    });
    const agent = createSimAgent(info);
    const e: Entry = { agent, toMaster: subjects.masterAgent(id), outbox: [] };
    for (const s of opts.seed?.(i, id) ?? []) seedTask(e, s);
    entries.set(id, e);
    list.push(e);
  }

  function seedTask(e: Entry, s: SeedTask) {
    const c = ctx();
    const { agent } = e;
    agent.frameworks.set(s.framework.id, s.framework);
    const task = { ...s.task, agentId: agent.info.id };
    const status = {
      taskId: task.taskId,
      state: s.state,
      source: 'SOURCE_EXECUTOR' as const,
      agentId: agent.info.id,
      uuid: c.uuid(),
      timestamp: c.now,
    };
    const t: SimTask = { frameworkId: s.framework.id, task, status, queue: [] };
    // A terminal task's last update is still waiting for its acknowledgement.
    if (isTerminal(s.state)) t.queue.push({ frameworkId: s.framework.id, status });
    agent.tasks.set(`${s.framework.id}/${task.taskId}`, t);
    agent.version++;
    if (!isTerminal(s.state)) {
      const d = taskDuration(task, durationMs);
      if (d !== FOREVER) ends.push(c.now + d, { e, t });
    }
  }

  function finish(e: Entry, t: SimTask, state: TaskState = TaskState.FINISHED): boolean {
    const { agent } = e;
    if (agent.phase === SimPhase.STOPPED || isTerminal(t.status.state)) return false;
    const u = endTask(agent, t, state, ctx());
    if (u) sendUpdate(e, u);
    return true;
  }

  // --- registration -------------------------------------------------------------------------
  const queue: Entry[] = [];
  let head = 0;
  let inflight = 0;
  const enqueue = (e: Entry) => {
    queue.push(e);
    pump();
  };
  function pump() {
    while (!stopped && inflight < concurrency && head < queue.length) {
      const e = queue[head++];
      if (head > 4096 && head * 2 > queue.length) {
        queue.splice(0, head);
        head = 0;
      }
      if (e.agent.phase !== SimPhase.REGISTERING) continue;
      inflight++;
      void register(e).finally(() => {
        inflight--;
        pump();
      });
    }
  }
  async function register(e: Entry) {
    const { agent } = e;
    stats.registrations++;
    // Back to a master whose standbys follow the agents: the running tasks go as a digest.
    const withDigest = masterDigests && agent.masterId !== undefined && !e.sendTasks;
    try {
      const encodeChecked = (register: AgentToMasterInput) =>
        encode(validate ? parseWith(AgentToMaster, register) : register);
      let bytes: Uint8Array;
      if (withDigest) {
        e.digestRegistration = encodedRegistration(
          agent,
          e.digestRegistration,
          encodeChecked,
          digestRegistration,
        );
        bytes = e.digestRegistration.bytes;
      } else {
        e.registration = encodedRegistration(agent, e.registration, encodeChecked);
        bytes = e.registration.bytes;
      }
      const r = mux
        ? readReply(e.toMaster, await mux.request(e.toMaster, bytes, registerTimeoutMs), Registered)
        : await bus.requestEncoded(e.toMaster, bytes, Registered, registerTimeoutMs);
      if (stopped || agent.phase !== SimPhase.REGISTERING) return;
      agent.phase = SimPhase.REGISTERED;
      agent.masterId = r.masterId;
      agent.attempts = 0;
      heartbeatMs = r.heartbeatIntervalSeconds * 1000;
      masterBatches = opts.batching !== false && !!r.capabilities?.includes(AgentCapability.BATCHING);
      masterDigests = opts.digests !== false && !!r.capabilities?.includes(AgentCapability.TASK_DIGEST);
      e.sendTasks = false;
      if (withDigest) stats.digestRegistrations++;
      // Build the next REGISTER (a digest) now, rather than when the master fails over: it is kept
      // while the agent is unchanged, and each task's info hash for as long as the task lives.
      else if (masterDigests)
        e.digestRegistration = encodedRegistration(agent, undefined, encodeChecked, digestRegistration);
      stats.registered++;
      // Whatever was in flight before (re-)registering goes again now.
      const now = clock.now();
      for (const t of agent.tasks.values()) {
        const u = t.queue[0];
        if (u) {
          t.sentAt = now;
          sendUpdate(e, u, true);
        }
      }
    } catch (err) {
      if (stopped) return;
      if (withDigest && err instanceof RemoteError && err.code === 'DIGEST_MISMATCH') {
        // Not a failure: this master has no matching copy of the tasks, so they go in full now.
        stats.digestMismatches++;
        e.sendTasks = true;
        enqueue(e);
        return;
      }
      stats.registerFailures++;
      if (err instanceof RemoteError && err.code === 'FORBIDDEN') {
        log.warn({ agentId: agent.info.id, reason: err.message }, 'registration refused for good');
        agent.phase = SimPhase.STOPPED;
        return;
      }
      agent.attempts++;
      const cap = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(agent.attempts, 20));
      const delay = Math.random() * cap;
      log.debug({ agentId: agent.info.id, delay, err: (err as Error).message }, 'registration failed');
      setTimeout(() => enqueue(e), delay).unref();
    }
  }

  // --- control messages ---------------------------------------------------------------------
  const unlisten = bus.listen(subjects.agentAll(), MasterToBatchingAgent, (msg, { subject }) => {
    const e = entries.get(subjects.agentOf(subject));
    if (!e || stopped || e.agent.phase === SimPhase.STOPPED) return;
    const c = ctx();
    const wasRegistered = e.agent.phase === SimPhase.REGISTERED;
    const immediate: SimTask[] = [];
    const r = onControl(e.agent, msg, durationMs, c, (t, endsAt) => {
      if (endsAt <= c.now) immediate.push(t);
      else if (endsAt !== FOREVER) ends.push(endsAt, { e, t });
    });
    stats.launched += r.launched.length;
    for (const u of r.send) sendUpdate(e, u);
    for (const t of immediate) finish(e, t);
    for (const acked of r.acked) {
      stats.acks++;
      if (isTerminal(acked.status.state)) stats.terminalAcked++;
      const uuid = acked.status.uuid;
      if (opts.onAcked && uuid) {
        const at = firstSent.get(uuid);
        firstSent.delete(uuid);
        if (at !== undefined) opts.onAcked(acked, at, c.now);
      }
    }
    if (msg.type === 'SHUTDOWN' && wasRegistered) stats.registered--;
    if (r.reregister) {
      stats.registered--;
      enqueue(e);
    }
  });
  await bus.flush();

  // --- one timer: heartbeats spread evenly, task ends, retries --------------------------------
  let heartbeatMs = 5000;
  let cursor = 0;
  let budget = 0;
  let last = clock.now();
  let lastRetryScan = last;
  const timer = setInterval(() => {
    const now = clock.now();
    const elapsed = now - last;
    last = now;
    budget += (list.length * elapsed) / heartbeatMs;
    const n = Math.min(Math.floor(budget), list.length);
    budget -= n;
    for (let i = 0; i < n; i++) {
      const e = list[cursor];
      cursor = (cursor + 1) % list.length;
      if (e.agent.phase === SimPhase.REGISTERED) {
        stats.heartbeats++;
        publish(e, { type: 'HEARTBEAT' });
      }
    }
    for (const { e, t } of ends.popDue(now)) finish(e, t);
    if (now - lastRetryScan >= Math.min(retryMs / 4, 1000)) {
      lastRetryScan = now;
      for (const e of list) {
        if (e.agent.phase !== SimPhase.REGISTERED) continue;
        for (const u of dueRetries(e.agent, now, retryMs)) sendUpdate(e, u, true);
      }
    }
  }, 50);

  for (const e of list) enqueue(e);

  return {
    agentIds: list.map((e) => e.agent.info.id),
    stats: () => {
      let running = 0;
      for (const e of list)
        for (const t of e.agent.tasks.values()) if (!isTerminal(t.status.state)) running++;
      return { ...stats, running };
    },
    whenRegistered(count = opts.agents, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (stats.registered >= count) return resolve();
          if (Date.now() > deadline)
            return reject(new Error(`only ${stats.registered} of ${count} simulated agents registered`));
          setTimeout(check, 20);
        };
        check();
      });
    },
    endRunning(count, state = TaskState.FINISHED) {
      let done = 0;
      for (const e of list) {
        if (done >= count) break;
        if (e.agent.phase !== SimPhase.REGISTERED) continue;
        for (const t of [...e.agent.tasks.values()]) {
          if (done >= count) break;
          if (isTerminal(t.status.state) || t.status.state === TaskState.STAGING) continue;
          if (finish(e, t, state)) done++;
        }
      }
      return done;
    },
    async stop({ unregister = false } = {}) {
      if (stopped) return;
      if (unregister)
        for (const e of list) if (e.agent.phase === SimPhase.REGISTERED) publish(e, { type: 'UNREGISTER' });
      stopped = true;
      clearInterval(timer);
      unlisten();
      mux?.close();
      await bus.flush().catch(() => {});
      for (const e of list) e.agent.phase = SimPhase.STOPPED;
    },
  };
}
