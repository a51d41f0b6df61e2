import {
  type AgentInfo,
  type FrameworkInfo,
  isTerminal,
  type MasterToBatchingAgent,
  Reason,
  type RunningTask,
  Source,
  type StatusUpdate,
  type TaskDigest,
  type TaskInfo,
  TaskState,
  type TaskStatus,
  withTasksDigest,
} from '../../protocol/index.js';

/** SimPhase is where a simulated agent stands with the master. */
export const SimPhase = {
  /** Waiting for (or retrying) REGISTER. */
  REGISTERING: 'registering',
  /** Registered: heartbeats, takes tasks, forwards updates. */
  REGISTERED: 'registered',
  /** Told to SHUTDOWN by the master (marked gone), or stopped: silent for good. */
  STOPPED: 'stopped',
} as const;
export type SimPhase = (typeof SimPhase)[keyof typeof SimPhase];

/** FOREVER is the duration of a task that runs until it is killed. */
export const FOREVER = Number.POSITIVE_INFINITY;

/** DURATION_LABEL is the task label that overrides how long a simulated task runs (ms, or `forever`). */
export const DURATION_LABEL = 'mezzo.sim/duration-ms';

/** SimTask is one task a simulated agent holds, with its reliable update queue. */
export interface SimTask {
  frameworkId: string;
  task: TaskInfo;
  /** The latest state the agent knows (what REGISTER reports). */
  status: TaskStatus;
  /** Updates not yet acknowledged, oldest first; the head is the one in flight. */
  queue: StatusUpdate[];
  /** When the head was last sent (by the injected clock); undefined until sent. */
  sentAt?: number;
  /** How many times the head was resent; the wait before the next resend doubles each time. */
  resends?: number;
}

/** SimAgent is one simulated agent: plain data, so that thousands live in one Map. */
export interface SimAgent {
  info: AgentInfo;
  phase: SimPhase;
  /** Tasks by `frameworkId/taskId`, running or with updates still unacknowledged. */
  tasks: Map<string, SimTask>;
  frameworks: Map<string, FrameworkInfo>;
  masterId?: string;
  /** Failed REGISTER attempts in a row (for the backoff). */
  attempts: number;
  /** No REGISTER before this time. */
  registerAfter: number;
  /**
   * Bumped whenever what its REGISTER reports changes (a task added or forgotten, a status
   * changed), so that an encoded REGISTER can be sent again until then (`encodedRegistration`).
   */
  version: number;
}

/** Outgoing is a status update a decision wants sent to the master now. */
export type Outgoing = StatusUpdate;

/** createSimAgent makes an agent that has yet to register. */
export function createSimAgent(info: AgentInfo): SimAgent {
  return {
    info,
    phase: SimPhase.REGISTERING,
    tasks: new Map(),
    frameworks: new Map(),
    attempts: 0,
    registerAfter: 0,
    version: 0,
  };
}

const key = (frameworkId: string, taskId: string) => `${frameworkId}/${taskId}`;

/**
 * registration is the REGISTER body: every task held with its latest status (terminal ones whose
 * update is not yet acknowledged included), and those tasks' frameworks.
 */
export function registration(agent: SimAgent): {
  agent: AgentInfo;
  tasks: RunningTask[];
  frameworks: FrameworkInfo[];
} {
  const tasks: RunningTask[] = [];
  const fws = new Set<string>();
  for (const t of agent.tasks.values()) {
    tasks.push({ frameworkId: t.frameworkId, task: t.task, status: t.status });
    fws.add(t.frameworkId);
  }
  const frameworks = [...fws].flatMap((id) => {
    const f = agent.frameworks.get(id);
    return f ? [f] : [];
  });
  return { agent: agent.info, tasks, frameworks };
}

/**
 * digestRegistration is the REGISTER body for a master whose Registered listed TASK_DIGEST, as the
 * agent re-registers: the digest of its non-terminal tasks in place of them, and its terminal ones
 * (updates not yet acknowledged) in full with their frameworks.
 */
export function digestRegistration(agent: SimAgent): ReturnType<typeof registration> & {
  tasksDigest: TaskDigest;
} {
  return withTasksDigest(registration(agent));
}

/** EncodedRegistration is an agent's REGISTER as sent, and the version of the agent it reports. */
export interface EncodedRegistration {
  version: number;
  bytes: Uint8Array;
}

/**
 * encodedRegistration returns the agent's REGISTER encoded by `encode`: `cached` while the agent
 * has not changed since it was encoded, a fresh one otherwise. After a failover 10,000 agents
 * re-register with what they registered before; packing each again cost the simulator's process
 * 0.3 s of CPU while the new leader needed it.
 */
export function encodedRegistration(
  agent: SimAgent,
  cached: EncodedRegistration | undefined,
  encode: (register: { type: 'REGISTER' } & ReturnType<typeof registration>) => Uint8Array,
  body: (agent: SimAgent) => ReturnType<typeof registration> = registration,
): EncodedRegistration {
  if (cached && cached.version === agent.version) return cached;
  return { version: agent.version, bytes: encode({ type: 'REGISTER', ...body(agent) }) };
}

/** taskDuration is how long a task runs: its label if it has one, else the simulator's default. */
export function taskDuration(task: TaskInfo, fallbackMs: number): number {
  const label = task.labels?.[DURATION_LABEL];
  if (label === undefined) return fallbackMs;
  if (label === 'forever') return FOREVER;
  const ms = Number(label);
  return Number.isFinite(ms) && ms >= 0 ? ms : fallbackMs;
}

/** Ctx is what a decision needs from outside: the time and a source of fresh update uuids. */
export interface Ctx {
  now: number;
  uuid: () => string;
}

/**
 * pushUpdate queues a new status for a task; it is returned for sending when it is the head of
 * the queue (nothing older is waiting for its acknowledgement), as a real agent's FIFO does.
 */
export function pushUpdate(
  agent: SimAgent,
  t: SimTask,
  state: TaskState,
  ctx: Ctx,
  reason?: Reason,
  message?: string,
): Outgoing | undefined {
  if (isTerminal(t.status.state)) return undefined;
  const status: TaskStatus & { uuid: string; agentId: string } = {
    taskId: t.task.taskId,
    state,
    source: Source.EXECUTOR,
    agentId: agent.info.id,
    uuid: ctx.uuid(),
    timestamp: ctx.now,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
  t.status = status;
  agent.version++;
  const update: StatusUpdate = { frameworkId: t.frameworkId, status };
  t.queue.push(update);
  if (t.queue.length > 1) return undefined;
  t.sentAt = ctx.now;
  t.resends = 0;
  return update;
}

/** Launched says what became of a RUN_TASK: the update to send, and when the task ends. */
export interface Launched {
  send?: Outgoing;
  task?: SimTask;
  /** Absolute time the task finishes (FOREVER: never by itself). */
  endsAt?: number;
}

/**
 * launchTask starts a task at once: it goes straight to TASK_RUNNING (there is no process) and
 * runs for its duration. A task id the agent already holds is a duplicate and is ignored.
 */
export function launchTask(
  agent: SimAgent,
  framework: FrameworkInfo,
  task: TaskInfo,
  defaultDurationMs: number,
  ctx: Ctx,
): Launched {
  if (agent.phase !== SimPhase.REGISTERED) return {};
  const k = key(framework.id, task.taskId);
  if (agent.tasks.has(k)) return {};
  agent.frameworks.set(framework.id, framework);
  const t: SimTask = {
    frameworkId: framework.id,
    task,
    status: {
      taskId: task.taskId,
      state: TaskState.STAGING,
      source: Source.AGENT,
      agentId: agent.info.id,
      timestamp: ctx.now,
    },
    queue: [],
  };
  agent.tasks.set(k, t);
  agent.version++;
  const send = pushUpdate(agent, t, TaskState.RUNNING, ctx);
  const d = taskDuration(task, defaultDurationMs);
  return { send, task: t, endsAt: d === FOREVER ? FOREVER : ctx.now + d };
}

/** endTask finishes (or fails, or kills) a task that is still running; returns the update to send now. */
export function endTask(
  agent: SimAgent,
  t: SimTask,
  state: TaskState,
  ctx: Ctx,
  reason?: Reason,
  message?: string,
): Outgoing | undefined {
  if (agent.tasks.get(key(t.frameworkId, t.task.taskId)) !== t) return undefined;
  return pushUpdate(agent, t, state, ctx, reason, message);
}

/**
 * acknowledge drops the acknowledged head of a task's queue and returns the next update to send;
 * a task whose terminal update was acknowledged is forgotten. An ack for anything else is stale.
 */
export function acknowledge(
  agent: SimAgent,
  frameworkId: string,
  taskId: string,
  uuid: string,
  now: number,
): { next?: Outgoing; acked?: StatusUpdate } {
  const k = key(frameworkId, taskId);
  const t = agent.tasks.get(k);
  const head = t?.queue[0];
  if (!t || !head || head.status.uuid !== uuid) return {};
  t.queue.shift();
  const next = t.queue[0];
  if (next) {
    t.sentAt = now;
    t.resends = 0;
    return { next, acked: head };
  }
  t.sentAt = undefined;
  if (isTerminal(t.status.state) && agent.tasks.delete(k)) agent.version++;
  return { acked: head };
}

/** Reaction is what a control message leads to: updates to send and tasks to time. */
export interface Reaction {
  send: Outgoing[];
  launched: SimTask[];
  /** REREGISTER asked for a new registration. */
  reregister?: boolean;
  /** STATUS_UPDATE_ACK(S) acknowledged these updates. */
  acked: StatusUpdate[];
}

/**
 * onControl applies one master -> agent message to a simulated agent, as the real agent would,
 * minus the processes: RUN_TASK starts a task, KILL_TASK and SHUTDOWN_FRAMEWORK end tasks with
 * TASK_KILLED, STATUS_UPDATE_ACK advances a task's queue, REREGISTER re-registers, SHUTDOWN stops.
 */
export function onControl(
  agent: SimAgent,
  msg: MasterToBatchingAgent,
  defaultDurationMs: number,
  ctx: Ctx,
  ends: (t: SimTask, endsAt: number) => void,
): Reaction {
  const out: Reaction = { send: [], launched: [], acked: [] };
  const push = (u: Outgoing | undefined) => {
    if (u) out.send.push(u);
  };
  switch (msg.type) {
    case 'RUN_TASK':
    case 'RUN_TASKS': {
      for (const task of msg.type === 'RUN_TASK' ? [msg.task] : msg.tasks) {
        const r = launchTask(agent, msg.framework, task, defaultDurationMs, ctx);
        push(r.send);
        if (r.task && r.endsAt !== undefined) {
          out.launched.push(r.task);
          ends(r.task, r.endsAt);
        }
      }
      return out;
    }
    case 'KILL_TASK': {
      const t = agent.tasks.get(key(msg.frameworkId, msg.taskId));
      if (t) push(endTask(agent, t, TaskState.KILLED, ctx, undefined, 'killed by the master'));
      return out;
    }
    case 'SHUTDOWN_FRAMEWORK': {
      for (const t of agent.tasks.values()) {
        if (t.frameworkId === msg.frameworkId)
          push(endTask(agent, t, TaskState.KILLED, ctx, Reason.FRAMEWORK_REMOVED, 'framework shut down'));
      }
      return out;
    }
    case 'STATUS_UPDATE_ACK':
    case 'STATUS_UPDATE_ACKS': {
      for (const a of msg.type === 'STATUS_UPDATE_ACK' ? [msg] : msg.acks) {
        const r = acknowledge(agent, a.frameworkId, a.taskId, a.uuid, ctx.now);
        push(r.next);
        if (r.acked) out.acked.push(r.acked);
      }
      return out;
    }
    case 'REREGISTER':
      if (agent.phase === SimPhase.REGISTERED) {
        agent.phase = SimPhase.REGISTERING;
        agent.attempts = 0;
        agent.registerAfter = 0;
        out.reregister = true;
      }
      return out;
    case 'SHUTDOWN':
      agent.phase = SimPhase.STOPPED;
      agent.tasks.clear();
      agent.version++;
      return out;
  }
}

/**
 * dueRetries lists the in-flight updates of an agent due to be sent again: the first resend after
 * `retryMs`, then twice as long each time up to `capMs`, as a real agent backs off (so that updates
 * nobody acknowledges, those of a framework that is away, do not flood the master).
 */
export function dueRetries(agent: SimAgent, now: number, retryMs: number, capMs = 600_000): Outgoing[] {
  const out: Outgoing[] = [];
  for (const t of agent.tasks.values()) {
    const head = t.queue[0];
    if (!head || t.sentAt === undefined) continue;
    const wait = Math.min(capMs, retryMs * 2 ** (t.resends ?? 0));
    if (now - t.sentAt >= wait) {
      t.sentAt = now;
      t.resends = (t.resends ?? 0) + 1;
      out.push(head);
    }
  }
  return out;
}
