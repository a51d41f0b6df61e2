import {
  type AgentToMaster,
  DEFAULT_ROLE,
  type DigestSum,
  emptyDigestSum,
  type FrameworkInfo,
  finishDigest,
  isTerminal,
  type MasterToBatchingAgent,
  type StatusUpdate,
  sameDigest,
  statusHash,
  type TaskDigest,
  type TaskInfo,
  type TaskStatus,
  taskInfoHash,
  withoutTask,
  withTask,
} from '../../protocol/index.js';
import { taskRecord } from './bookkeeping.js';
import { compactInfo, compactStatus } from './compact-records.js';
import { shareTaskParts } from './shared-parts.js';
import { shareStatusStrings } from './shared-strings.js';
import { type TaskRecord, taskKey } from './state.js';

/**
 * A standby follows the agents: it overhears what they send the leader (REGISTERs and status
 * updates, on the subjects the leader serves) and the tasks the leader sends them (RUN_TASK(S)),
 * and keeps, per agent, a copy of the non-terminal tasks the agent holds, already in the form the
 * master keeps tasks in. After a failover an
 * agent re-registers with only a digest of those tasks (protocol/task-digest.ts); when it equals
 * the copy's, the new leader takes the copy instead of decoding, validating and compacting every
 * task again. A copy is only ever used when the digests agree, so a message the standby missed
 * or misread costs that agent a full REGISTER, never a wrong task.
 */

/**
 * FollowedTask is one non-terminal task as its agent last reported it: the master's record of it
 * made ready (info and status compacted and shared, the status uuid remembered), as a master that
 * learns the task from a REGISTER makes it. Only its role is left to the master that takes it.
 */
export interface FollowedTask {
  record: TaskRecord;
  /** The hash of the task's info as the agent reported it (taskInfoHash). */
  infoHash: string;
  /** The task's digest lanes. */
  lanes: [number, number];
}

/** FollowedAgent is the copy of one agent's non-terminal tasks, with their digest kept summed. */
export interface FollowedAgent {
  tasks: Map<string, FollowedTask>;
  digest: DigestSum;
  /** The frameworks of those tasks, from the agent's REGISTER (a digest REGISTER need not list them). */
  frameworks: FrameworkInfo[];
  /**
   * Tasks the leader sent the agent that have yet to report: their info, held until their first
   * status update makes them part of the copy (at most MAX_LAUNCHES_HELD, the oldest dropped).
   */
  launched: Map<string, TaskInfo>;
}

/** The most launched tasks held per agent while they have not reported (a bound, not a target). */
export const MAX_LAUNCHES_HELD = 10_000;

/** FollowedAgents maps agent ids to their copies. */
export type FollowedAgents = Map<string, FollowedAgent>;

/** followedStatus makes a reported status the record's, as register does. */
function followedStatus(record: TaskRecord, status: TaskStatus): void {
  shareStatusStrings(status, record.info.taskId, record.agentId);
  record.status = compactStatus(status);
  record.recentUuids = status.uuid;
}

function followedTask(
  agentId: string,
  frameworkId: string,
  task: TaskInfo,
  status: TaskStatus,
  infoHash: string,
): FollowedTask {
  const lanes = statusHash(frameworkId, task.taskId, status, infoHash);
  // As the master learns a task it never saw (agent-messages.ts, register): one object each, the
  // parts and strings shared, the task's agent the reporting one.
  const info = compactInfo(task);
  info.agentId = agentId;
  shareTaskParts(info, agentId);
  const record = taskRecord(frameworkId, agentId, DEFAULT_ROLE, info, status);
  followedStatus(record, status);
  return { record, infoHash, lanes };
}

function put(agent: FollowedAgent, k: string, t: FollowedTask): void {
  const old = agent.tasks.get(k);
  if (old) withoutTask(agent.digest, old.lanes);
  // A task changed in place keeps its place: the copy lists tasks in the order the agent did.
  agent.tasks.set(k, t);
  withTask(agent.digest, t.lanes);
}

function drop(agent: FollowedAgent, k: string, t: FollowedTask): void {
  agent.tasks.delete(k);
  withoutTask(agent.digest, t.lanes);
}

function followUpdate(agents: FollowedAgents, agentId: string, update: StatusUpdate): void {
  const agent = agents.get(agentId);
  const { frameworkId, status } = update;
  // The leader refuses an update that names another agent; so does the copy.
  if (!agent || status.agentId !== agentId) return;
  const k = taskKey(frameworkId, status.taskId);
  const known = agent.tasks.get(k);
  if (!known) {
    // A task launched since the agent's REGISTER: its first update makes it part of the copy.
    const launched = agent.launched.get(k);
    if (!launched) return;
    agent.launched.delete(k);
    if (!isTerminal(status.state))
      put(agent, k, followedTask(agentId, frameworkId, launched, status, taskInfoHash(launched)));
    return;
  }
  if (isTerminal(status.state)) {
    drop(agent, k, known);
    return;
  }
  const lanes = statusHash(frameworkId, status.taskId, status, known.infoHash);
  followedStatus(known.record, status);
  put(agent, k, { ...known, lanes });
}

/**
 * followAgentMessage applies one overheard agent message to the copies. A REGISTER replaces the
 * agent's copy with the non-terminal tasks it reports (one with a digest keeps the copy only if
 * the digests agree); a status update moves a task of the copy on or, once terminal, out of it,
 * and brings in a task the leader launched there since (followLaunch). A task the copy has no
 * info for stays out of it (an update does not carry the info): the agent's digest then differs.
 */
export function followAgentMessage(agents: FollowedAgents, agentId: string, msg: AgentToMaster): void {
  switch (msg.type) {
    case 'REGISTER': {
      if (msg.agent.id !== agentId) return;
      if (msg.tasksDigest) {
        const copy = agents.get(agentId);
        if (copy && !sameDigest(followedDigest(copy), msg.tasksDigest)) agents.delete(agentId);
        return;
      }
      const copy: FollowedAgent = {
        tasks: new Map(),
        digest: emptyDigestSum(),
        frameworks: [],
        launched: new Map(),
      };
      const used = new Set<string>();
      for (const { frameworkId, task, status } of msg.tasks) {
        if (isTerminal(status.state)) continue;
        const t = followedTask(agentId, frameworkId, task, status, taskInfoHash(task));
        put(copy, taskKey(frameworkId, task.taskId), t);
        used.add(frameworkId);
      }
      copy.frameworks = msg.frameworks.filter((f) => used.has(f.id));
      agents.set(agentId, copy);
      return;
    }
    case 'STATUS_UPDATE':
      followUpdate(agents, agentId, msg.update);
      return;
    case 'STATUS_UPDATES':
      for (const update of msg.updates) followUpdate(agents, agentId, update);
      return;
    case 'UNREGISTER':
      agents.delete(agentId);
      return;
    case 'HEARTBEAT':
      return;
  }
}

/** A launch the leader sent an agent (RUN_TASK or RUN_TASKS on its control subject). */
type Launch = Extract<MasterToBatchingAgent, { type: 'RUN_TASK' | 'RUN_TASKS' }>;

/**
 * followLaunch notes the tasks the leader sent an agent it follows, until their first status
 * update (followAgentMessage); other control messages change nothing the copy holds (a kill or a
 * framework's shutdown shows in the updates that follow).
 */
export function followLaunch(agents: FollowedAgents, agentId: string, msg: MasterToBatchingAgent): void {
  if (msg.type !== 'RUN_TASK' && msg.type !== 'RUN_TASKS') return;
  const agent = agents.get(agentId);
  if (!agent) return;
  const launch = msg as Launch;
  for (const task of launch.type === 'RUN_TASK' ? [launch.task] : launch.tasks) {
    if (task.agentId !== agentId) continue;
    const k = taskKey(launch.framework.id, task.taskId);
    agent.launched.delete(k);
    agent.launched.set(k, task);
    if (agent.launched.size > MAX_LAUNCHES_HELD) {
      const oldest = agent.launched.keys().next().value;
      if (oldest !== undefined) agent.launched.delete(oldest);
    }
  }
  if (!agent.frameworks.some((f) => f.id === launch.framework.id)) agent.frameworks.push(launch.framework);
}

/** followedFrameworks are the frameworks of the tasks a copy holds. */
export function followedFrameworks(agent: FollowedAgent): FrameworkInfo[] {
  const theirs = new Set<string>();
  for (const t of agent.tasks.values()) theirs.add(t.record.frameworkId);
  return agent.frameworks.filter((f) => theirs.has(f.id));
}

/** followedDigest is the digest of a copy, as the agent computes it over the same tasks. */
export function followedDigest(agent: FollowedAgent): TaskDigest {
  return finishDigest(agent.digest);
}
