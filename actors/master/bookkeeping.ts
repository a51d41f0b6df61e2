import {
  AgentStatus,
  FrameworkStatus,
  isTerminal,
  type Offer,
  resources as R,
  type Resource,
  type TaskInfo,
  type TaskStatus,
} from '../../protocol/index.js';
import { compactStatus } from './compact-records.js';
import type { Effect } from './effects.js';
import { shareStatusStrings } from './shared-strings.js';
import {
  type AgentRecord,
  type FrameworkRecord,
  type MasterState,
  type TaskRecord,
  taskKey,
} from './state.js';

/** The mutations every handler shares; each keeps agent and framework accounting in step. */

export function addOffer(
  state: MasterState,
  offer: Omit<Offer, 'id' | 'hostname' | 'attributes'>,
  now: number,
): Offer {
  const agent = state.agents.get(offer.agentId);
  const fw = state.frameworks.get(offer.frameworkId);
  if (!agent || !fw) throw new Error('offer for an unknown agent or framework');
  const id = `o-${state.config.masterId.slice(2, 10)}-${++state.offerSeq}`;
  const full: Offer = { ...offer, id, hostname: agent.info.hostname, attributes: agent.info.attributes };
  state.offers.set(id, { offer: full, createdAt: now });
  agent.offered = R.add(agent.offered, offer.resources);
  agent.offers.add(id);
  fw.offered = R.add(fw.offered, offer.resources);
  fw.offers.add(id);
  return full;
}

/** takeOffer takes an offer out of the master's books only: the caller tells the allocator what became of it. */
export function takeOffer(state: MasterState, offerId: string): Offer | undefined {
  const rec = state.offers.get(offerId);
  if (!rec) return undefined;
  state.offers.delete(offerId);
  const { offer } = rec;
  const agent = state.agents.get(offer.agentId);
  if (agent) {
    agent.offered = R.subtract(agent.offered, offer.resources);
    agent.offers.delete(offerId);
  }
  const fw = state.frameworks.get(offer.frameworkId);
  if (fw) {
    fw.offered = R.subtract(fw.offered, offer.resources);
    fw.offers.delete(offerId);
  }
  return offer;
}

/**
 * removeOffer takes an offer out and gives its resources back to the allocator (a recovery);
 * with a filter the framework is not offered them again in that role until it expires.
 */
export function removeOffer(
  state: MasterState,
  offerId: string,
  filter?: { expiresAt: number },
): Offer | undefined {
  const offer = takeOffer(state, offerId);
  if (offer) state.allocator.recover(offer.frameworkId, offer.role, offer.agentId, offer.resources, filter);
  return offer;
}

/** rescindOffer removes an offer and tells its framework. */
export function rescindOffer(state: MasterState, offerId: string): Effect[] {
  const offer = removeOffer(state, offerId);
  return offer
    ? [{ kind: 'framework', frameworkId: offer.frameworkId, event: { type: 'RESCIND', offerId } }]
    : [];
}

/** refusal is the filter a DECLINE or the unused part of an ACCEPT sets: none for refuseSeconds 0. */
export function refusal(refuseSeconds: number, now: number): { expiresAt: number } | undefined {
  return refuseSeconds > 0 ? { expiresAt: now + refuseSeconds * 1000 } : undefined;
}

/**
 * taskRecord makes a task record with every field in place from the start, so it is one object:
 * a field added later (the first uuid, a health verdict) would hang an extra property array off
 * each of hundreds of thousands of records.
 */
export function taskRecord(
  frameworkId: string,
  agentId: string,
  role: string,
  info: TaskInfo,
  status: TaskStatus,
): TaskRecord {
  return { frameworkId, agentId, role, info, status, healthy: undefined, recentUuids: undefined };
}

/** addTask records a launched task and charges its resources. */
export function addTask(state: MasterState, task: TaskRecord): void {
  const fw = state.frameworks.get(task.frameworkId);
  const agent = state.agents.get(task.agentId);
  fw?.tasks.set(task.info.taskId, task);
  if (fw) fw.used = R.add(fw.used, task.info.resources);
  if (agent) {
    agent.tasks.add(taskKey(task.frameworkId, task.info.taskId));
    agent.used = R.add(agent.used, task.info.resources);
  }
}

/**
 * TaskCharges adds many tasks of one agent (a re-registration): each task is placed in its
 * framework's and agent's books at once, as addTask does, but the resources are summed and
 * charged once per framework and once for the agent in `done`, instead of one normalizing add
 * per task (the largest part of addTask's cost at 100,000 re-registered tasks).
 */
export class TaskCharges {
  private readonly byFramework = new Map<FrameworkRecord, Resource[]>();
  private readonly all: Resource[] = [];
  constructor(
    private readonly state: MasterState,
    private readonly agent: AgentRecord,
  ) {}

  /** add places a task of this agent now (`key` is its taskKey); its resources are charged at `done`. */
  add(task: TaskRecord, key = taskKey(task.frameworkId, task.info.taskId)): void {
    if (task.agentId !== this.agent.info.id) {
      throw new Error(`task ${task.info.taskId} is on agent ${task.agentId}, not ${this.agent.info.id}`);
    }
    const fw = this.state.frameworks.get(task.frameworkId);
    const rs = task.info.resources;
    if (fw) {
      fw.tasks.set(task.info.taskId, task);
      const list = this.byFramework.get(fw);
      if (list) for (const r of rs) list.push(r);
      else this.byFramework.set(fw, [...rs]);
    }
    this.agent.tasks.add(key);
    for (const r of rs) this.all.push(r);
  }

  /** done charges what was added since the last `done`. */
  done(): void {
    for (const [fw, rs] of this.byFramework) fw.used = R.add(fw.used, rs);
    if (this.all.length > 0) this.agent.used = R.add(this.agent.used, this.all);
    this.byFramework.clear();
    this.all.length = 0;
  }
}

/**
 * updateTask applies a status to a known task; a terminal one frees its resources at once
 * (before the framework acknowledges) and moves the task to the completed list.
 */
export function updateTask(
  state: MasterState,
  fw: FrameworkRecord,
  task: TaskRecord,
  status: TaskStatus,
): boolean {
  if (isTerminal(task.status.state)) return false;
  shareStatusStrings(status, task.info.taskId, task.agentId);
  task.status = compactStatus(status);
  if (status.healthy !== undefined) task.healthy = status.healthy;
  if (!isTerminal(status.state)) return false;
  fw.tasks.delete(task.info.taskId);
  fw.used = R.subtract(fw.used, task.info.resources);
  fw.completed.push(task);
  if (fw.completed.length > state.config.maxCompletedTasksPerFramework) fw.completed.shift();
  if (status.uuid) awaitAck(fw, task);
  const agent = state.agents.get(task.agentId);
  const key = taskKey(task.frameworkId, task.info.taskId);
  if (agent?.tasks.has(key)) {
    // Only a task counted on its agent is charged in the allocator (an unreachable one is not).
    agent.tasks.delete(key);
    agent.used = R.subtract(agent.used, task.info.resources);
    state.allocator.release(task.frameworkId, task.role, task.agentId, task.info.resources);
  }
  return true;
}

/** frameworkEvent sends an event to a framework if it is connected to hear it. */
export function frameworkEvent(
  fw: FrameworkRecord | undefined,
  event: Effect & { kind: 'framework' },
): Effect[] {
  return fw && fw.status === FrameworkStatus.CONNECTED ? [event] : [];
}

/**
 * removeFramework tears a framework down: its offers go back, its tasks are killed on their agents
 * and recorded as KILLED, and it is kept as REMOVED so its id cannot come back.
 */
export function removeFramework(
  state: MasterState,
  fw: FrameworkRecord,
  now: number,
  message: string,
): Effect[] {
  const effects: Effect[] = [];
  for (const offerId of [...fw.offers]) removeOffer(state, offerId);
  const agents = new Set<string>();
  for (const task of [...fw.tasks.values()]) {
    agents.add(task.agentId);
    updateTask(state, fw, task, {
      ...task.status,
      uuid: undefined,
      state: 'TASK_KILLED',
      reason: 'REASON_FRAMEWORK_REMOVED',
      source: 'SOURCE_MASTER',
      message,
      timestamp: now,
    });
  }
  for (const agentId of agents) {
    const agent = state.agents.get(agentId);
    if (agent && agent.status === AgentStatus.ACTIVE) {
      effects.push({
        kind: 'agent',
        agentId,
        message: { type: 'SHUTDOWN_FRAMEWORK', frameworkId: fw.info.id },
      });
    }
  }
  fw.status = FrameworkStatus.REMOVED;
  state.allocator.removeFramework(fw.info.id);
  effects.push({ kind: 'allocate' });
  return effects;
}

/** findTask finds a framework's task, active or among the completed ones kept. */
export function findTask(fw: FrameworkRecord, taskId: string): TaskRecord | undefined {
  const found = fw.tasks.get(taskId) ?? fw.unacknowledged?.get(taskId);
  if (found) return found;
  // A loop, not findLast: no closure per call (100,000 lookups when agents re-register).
  const completed = fw.completed;
  for (let i = completed.length - 1; i >= 0; i--)
    if (completed[i].info.taskId === taskId) return completed[i];
  return undefined;
}

/** awaitAck keeps a terminal task known until its terminal update is acknowledged. */
export function awaitAck(fw: FrameworkRecord, task: TaskRecord): void {
  if (!fw.unacknowledged) fw.unacknowledged = new Map();
  fw.unacknowledged.set(task.info.taskId, task);
}

/** acknowledged forgets a terminal task's pending acknowledgement once its terminal update is acked. */
export function acknowledged(fw: FrameworkRecord, task: TaskRecord, uuid: string): void {
  if (isTerminal(task.status.state) && task.status.uuid === uuid) fw.unacknowledged?.delete(task.info.taskId);
}

const RECENT_UUIDS = 8;

/** rememberUuid records the uuid of an agent update so its acknowledgement can be checked. */
export function rememberUuid(task: TaskRecord, uuid: string | undefined): void {
  if (!uuid) return;
  const recent = task.recentUuids;
  if (recent === undefined) task.recentUuids = uuid;
  else if (typeof recent === 'string') {
    if (recent !== uuid) task.recentUuids = [recent, uuid];
  } else if (!recent.includes(uuid)) {
    recent.push(uuid);
    if (recent.length > RECENT_UUIDS) recent.shift();
  }
}

/** knowsUuid says whether `uuid` is one of the task's latest agent updates (rememberUuid). */
export function knowsUuid(task: TaskRecord, uuid: string): boolean {
  const recent = task.recentUuids;
  return typeof recent === 'string' ? recent === uuid : (recent?.includes(uuid) ?? false);
}
