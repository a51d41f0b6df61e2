import {
  AgentCapability,
  AgentStatus,
  type AgentToMaster,
  DEFAULT_ROLE,
  FrameworkStatus,
  isTerminal,
  resources as R,
  Reason,
  type Registered,
  type Resource,
  type Resources,
  Source,
  sameDigest,
  stateForFramework,
  type TaskInfo,
  TaskState,
  type TaskStatus,
} from '../../protocol/index.js';
import { partitionAware } from './accept-plan.js';
import { type FollowedAgent, followedDigest, followedFrameworks } from './agent-follower.js';
import type { Holding } from './allocator/index.js';
import {
  awaitAck,
  findTask,
  frameworkEvent,
  rememberUuid,
  rescindOffer,
  TaskCharges,
  taskRecord,
  updateTask,
} from './bookkeeping.js';
import { compactInfo, compactStatus } from './compact-records.js';
import { type Effect, MasterError, type Outcome } from './effects.js';
import { same } from './registry-diff.js';
import { shareTaskParts } from './shared-parts.js';
import { shareStatusStrings } from './shared-strings.js';
import { type AgentRecord, type MasterState, type TaskRecord, taskKey } from './state.js';
import { TaskMap } from './task-map.js';

type Msg<T extends AgentToMaster['type']> = Extract<AgentToMaster, { type: T }>;

/** handleAgentMessage applies one agent message; an agent the master does not know is told to register. */
export function handleAgentMessage(
  state: MasterState,
  agentId: string,
  msg: AgentToMaster,
  now: number,
): Outcome<Registered | Record<string, never>> {
  if (msg.type === 'REGISTER') return register(state, agentId, msg, now);
  const agent = state.agents.get(agentId);
  if (!agent || agent.status !== AgentStatus.ACTIVE) {
    if (msg.type === 'UNREGISTER') return { result: {}, effects: [] };
    if (agent?.gone) {
      return {
        result: {},
        effects: [
          { kind: 'agent', agentId, message: { type: 'SHUTDOWN', message: 'agent was marked gone' } },
        ],
      };
    }
    return { result: {}, effects: [{ kind: 'agent', agentId, message: { type: 'REREGISTER' } }] };
  }
  agent.lastSeenAt = now;
  switch (msg.type) {
    case 'HEARTBEAT':
      return { result: {}, effects: [] };
    case 'STATUS_UPDATE':
      return { result: {}, effects: statusUpdate(state, agent, msg) };
    case 'STATUS_UPDATES': {
      const effects: Effect[] = [];
      let allocate = false;
      for (const update of msg.updates) {
        for (const e of statusUpdate(state, agent, { type: 'STATUS_UPDATE', update })) {
          if (e.kind === 'allocate') allocate = true;
          else effects.push(e);
        }
      }
      if (allocate) effects.push({ kind: 'allocate' });
      return { result: {}, effects };
    }
    case 'UNREGISTER':
      return { result: {}, effects: removeAgent(state, agent, AgentStatus.REMOVED, now) };
  }
}

function register(
  state: MasterState,
  agentId: string,
  msg: Msg<'REGISTER'>,
  now: number,
): Outcome<Registered> {
  if (msg.agent.id !== agentId) {
    throw new MasterError('BAD_REQUEST', `agent.id ${msg.agent.id} does not match the subject's ${agentId}`);
  }
  const effects: Effect[] = [{ kind: 'allocate' }];
  let agent = state.agents.get(agentId);
  if (agent?.gone) {
    throw new MasterError('FORBIDDEN', `agent ${agentId} was marked gone; start it with a fresh work dir`);
  }
  const followed = msg.tasksDigest ? followedCopy(state, agentId, msg) : undefined;
  if (followed) state.registrations.byDigest++;
  if (!agent) {
    state.registrations.registered++;
    agent = {
      info: msg.agent,
      status: AgentStatus.ACTIVE,
      registeredAt: now,
      lastSeenAt: now,
      total: msg.agent.resources,
      used: [],
      offered: [],
      tasks: new Set(),
      offers: new Set(),
    };
    state.agents.set(agentId, agent);
  } else {
    state.registrations.reregistered++;
    // Re-registration: the agent's report is the truth about what runs there. The allocator
    // forgets the agent and takes it back below with the tasks it reports.
    for (const offerId of [...agent.offers]) effects.push(...rescindOffer(state, offerId));
    state.allocator.removeAgent(agentId);
    // Dynamic reservations are kept by the master, not the agent: they survive a re-registration
    // that reports the same resources, and are dropped if the agent's resources changed.
    if (!R.equals(msg.agent.resources, agent.info.resources)) agent.total = msg.agent.resources;
    // An agent that comes back as it was keeps its info object (after a failover, the registry's):
    // the registry diff then sees by identity that nothing changed, here and at every tick after,
    // instead of comparing 10,000 agents' infos field by field each second.
    if (!same(msg.agent, agent.info)) agent.info = msg.agent;
    agent.status = AgentStatus.ACTIVE;
    agent.lastSeenAt = now;
  }
  // A digest REGISTER lists only its terminal tasks' frameworks; the copy has the others'.
  for (const info of followed ? [...msg.frameworks, ...followedFrameworks(followed)] : msg.frameworks) {
    if (!state.frameworks.has(info.id)) {
      state.frameworks.set(info.id, {
        info,
        status: FrameworkStatus.DISCONNECTED,
        subscribedAt: now,
        lastSeenAt: now,
        disconnectedAt: now,
        nextHeartbeatAt: now,
        used: [],
        offered: [],
        tasks: new TaskMap(),
        completed: [],
        offers: new Set(),
      });
    }
  }
  const reported = new Set<string>();
  // Tasks are placed as they come and their resources charged in one sum per framework at the end.
  const charges = new TaskCharges(state, agent);
  // `followed`: the record a standby made ready as it copied the task (agent-follower.ts).
  const place = (
    frameworkId: string,
    task: TaskInfo,
    status: TaskStatus,
    followed?: TaskRecord,
    key = taskKey(frameworkId, task.taskId),
  ) => {
    const fw = state.frameworks.get(frameworkId);
    if (!fw || fw.status === FrameworkStatus.REMOVED) return;
    // A terminal task not yet acknowledged still counts as reported: its update is on its way.
    reported.add(key);
    const known = findTask(fw, task.taskId);
    if (!known) {
      // A task this master never saw (it took over after a failover): learn it from the agent.
      let record: TaskRecord;
      if (followed) {
        record = followed;
        record.role = guessRole(task.resources, fw.info.roles);
      } else {
        const info = compactInfo(task);
        info.agentId = agentId;
        shareTaskParts(info, agentId);
        shareStatusStrings(status, task.taskId, agentId);
        record = taskRecord(
          fw.info.id,
          agentId,
          guessRole(task.resources, fw.info.roles),
          info,
          compactStatus(status),
        );
        rememberUuid(record, status.uuid);
      }
      // Ended but not yet acknowledged: keep it among the completed so the ack can be checked.
      if (isTerminal(status.state)) {
        fw.completed.push(record);
        // Bounded here too: unbounded, every later lookup of an unknown task scanned them all.
        if (fw.completed.length > state.config.maxCompletedTasksPerFramework) fw.completed.shift();
        if (status.uuid) awaitAck(fw, record);
      } else charges.add(record, key);
    } else if (!isTerminal(status.state) && known.agentId === agentId && !isTerminal(known.status.state)) {
      // A terminal report of a known task needs nothing: its update is on its way.
      rememberUuid(known, status.uuid);
      if (!followed) shareStatusStrings(status, known.info.taskId, agentId);
      known.status = followed ? status : compactStatus(status);
      if (!agent.tasks.has(key)) {
        // Back from unreachable: it counts as allocated again.
        fw.tasks.delete(task.taskId);
        charges.add(known, key);
      }
    }
  };
  for (const t of msg.tasks) place(t.frameworkId, t.task, t.status);
  if (followed)
    for (const [key, { record }] of followed.tasks)
      place(record.frameworkId, record.info, record.status, record, key);
  charges.done();
  // Tasks the master placed here that the agent no longer has are gone.
  for (const key of [...agent.tasks]) {
    if (reported.has(key)) continue;
    const [frameworkId, taskId] = key.split('/');
    const fw = state.frameworks.get(frameworkId);
    const task = fw?.tasks.get(taskId);
    if (!fw || !task) continue;
    // A task still STAGING may simply not have reached the agent yet.
    if (task.status.state === TaskState.STAGING && now - task.status.timestamp < 60_000) continue;
    const status: TaskStatus = {
      taskId,
      agentId,
      state: stateForFramework(TaskState.GONE, partitionAware(fw.info.capabilities)),
      reason: Reason.AGENT_RESTARTED,
      source: Source.MASTER,
      message: 'task was not reported by its agent on re-registration',
      timestamp: now,
    };
    updateTask(state, fw, task, status);
    effects.push(
      ...frameworkEvent(fw, { kind: 'framework', frameworkId, event: { type: 'UPDATE', status } }),
    );
  }
  state.allocator.addAgent(agentId, agent.total, holdings(state, agent));
  return {
    result: {
      agentId,
      masterId: state.config.masterId,
      heartbeatIntervalSeconds: state.config.agentPingTimeoutSeconds,
      // Only highly available masters have standbys that follow the agents.
      capabilities: state.leader?.ha
        ? [AgentCapability.BATCHING, AgentCapability.TASK_DIGEST]
        : [AgentCapability.BATCHING],
    },
    effects,
  };
}

/**
 * followedCopy takes the copy of an agent's tasks that its REGISTER's tasksDigest stands for
 * (agent-follower.ts), or refuses the REGISTER, before anything changed: DIGEST_MISMATCH when
 * this master holds no copy that matches (the agent then sends its tasks in full), BAD_REQUEST
 * when the REGISTER lists non-terminal tasks besides the digest. A copy is used once.
 */
function followedCopy(state: MasterState, agentId: string, msg: Msg<'REGISTER'>): FollowedAgent {
  if (msg.tasks.some((t) => !isTerminal(t.status.state)))
    throw new MasterError('BAD_REQUEST', 'a REGISTER with a tasksDigest lists only terminal tasks');
  const copy = state.followed?.get(agentId);
  if (!copy || !msg.tasksDigest || !sameDigest(followedDigest(copy), msg.tasksDigest)) {
    // Counted, though the REGISTER changes nothing else: how often standbys missed what agents hold.
    state.registrations.digestMismatches++;
    throw new MasterError('DIGEST_MISMATCH', `no copy of agent ${agentId}'s tasks matches its digest`);
  }
  state.followed?.delete(agentId);
  return copy;
}

function statusUpdate(state: MasterState, agent: AgentRecord, msg: Msg<'STATUS_UPDATE'>): Effect[] {
  const { frameworkId, status } = msg.update;
  const fw = state.frameworks.get(frameworkId);
  const ack: Effect = {
    kind: 'agent',
    agentId: agent.info.id,
    message: { type: 'STATUS_UPDATE_ACK', frameworkId, taskId: status.taskId, uuid: status.uuid },
  };
  // Nobody will ever acknowledge updates of a removed framework: do it for them so the agent drains.
  if (!fw || fw.status === FrameworkStatus.REMOVED) return [ack];
  const effects: Effect[] = [];
  const task = findTask(fw, status.taskId);
  // An agent speaks only as itself (NATS lets it publish only on its own subject): an update that
  // names another agent is neither applied nor forwarded, so frameworks never hear a forged source.
  if (status.agentId !== agent.info.id) {
    throw new MasterError(
      'FORBIDDEN',
      `agent ${agent.info.id} cannot report a status update as agent ${status.agentId}`,
    );
  }
  if (task && task.agentId === agent.info.id) {
    rememberUuid(task, status.uuid);
    if (updateTask(state, fw, task, status)) effects.push({ kind: 'allocate' });
  }
  const forwarded = {
    ...status,
    state: stateForFramework(status.state, partitionAware(fw.info.capabilities)),
  };
  effects.push(
    ...frameworkEvent(fw, { kind: 'framework', frameworkId, event: { type: 'UPDATE', status: forwarded } }),
  );
  return effects;
}

/**
 * removeAgent takes an agent out of service (unreachable or removed): its offers are rescinded,
 * its tasks become UNREACHABLE (or LOST) / GONE, and every framework hears of the failure.
 */
export function removeAgent(state: MasterState, agent: AgentRecord, to: AgentStatus, now: number): Effect[] {
  const effects: Effect[] = [];
  for (const offerId of [...agent.offers]) effects.push(...rescindOffer(state, offerId));
  state.allocator.removeAgent(agent.info.id);
  const unreachable = to === AgentStatus.UNREACHABLE;
  for (const key of [...agent.tasks]) {
    const [frameworkId, taskId] = key.split('/');
    const fw = state.frameworks.get(frameworkId);
    const task = fw?.tasks.get(taskId);
    if (!fw || !task) continue;
    const status: TaskStatus = {
      taskId,
      agentId: agent.info.id,
      state: stateForFramework(
        unreachable ? TaskState.UNREACHABLE : TaskState.GONE,
        partitionAware(fw.info.capabilities),
      ),
      reason: unreachable ? Reason.AGENT_UNREACHABLE : Reason.AGENT_REMOVED,
      source: Source.MASTER,
      message: unreachable ? 'agent stopped heartbeating' : 'agent was removed',
      timestamp: now,
    };
    if (unreachable && status.state === TaskState.UNREACHABLE) {
      // Not terminal: the task may come back with its agent; it no longer counts as allocated.
      task.status = status;
      fw.used = R.subtract(fw.used, task.info.resources);
    } else {
      updateTask(state, fw, task, status);
    }
    effects.push(
      ...frameworkEvent(fw, { kind: 'framework', frameworkId, event: { type: 'UPDATE', status } }),
    );
  }
  agent.status = to;
  agent.used = [];
  agent.tasks.clear();
  for (const fw of state.frameworks.values()) {
    effects.push(
      ...frameworkEvent(fw, {
        kind: 'framework',
        frameworkId: fw.info.id,
        event: { type: 'FAILURE', agentId: agent.info.id },
      }),
    );
  }
  return effects;
}

/**
 * guessRole is the allocation role of a task the master learns of from its agent (after a master
 * restart): tasks do not carry it, so the role its reserved resources name, else the framework's
 * first role.
 */
function guessRole(resources: Resources, frameworkRoles: readonly string[]): string {
  return resources.find((r) => r.role && r.role !== DEFAULT_ROLE)?.role ?? frameworkRoles[0] ?? DEFAULT_ROLE;
}

/**
 * holdings lists what the agent's non-terminal tasks hold, by framework and allocation role, for
 * the allocator. A task that no longer fits in what is left of the agent's total (its resources
 * shrank, or a reservation it runs on was dropped) is kept but, like a task on an unreachable
 * agent, no longer counted as allocated on either side, so the registration still succeeds.
 */
function holdings(state: MasterState, agent: AgentRecord): Holding[] {
  const out: Holding[] = [];
  // Fast path (every re-registration after a failover): when all the tasks together fit in the
  // total, each one does, and one sum replaces a contains and a subtract per task. The allocator
  // gets one holding per (framework, role), not one per task: it charges each holding separately.
  const all: Resource[] = [];
  const grouped = new Map<string, Resource[]>();
  for (const key of agent.tasks) {
    const [frameworkId, taskId] = key.split('/');
    const task = state.frameworks.get(frameworkId)?.tasks.get(taskId);
    if (!task) continue;
    const rs = task.info.resources;
    for (const r of rs) all.push(r);
    const group = `${frameworkId}/${task.role}`;
    const list = grouped.get(group);
    if (list) for (const r of rs) list.push(r);
    else {
      const fresh = [...rs];
      grouped.set(group, fresh);
      out.push({ frameworkId, role: task.role, resources: fresh });
    }
  }
  if (R.contains(agent.total, all)) return out;
  out.length = 0;
  let left = agent.total;
  for (const key of [...agent.tasks]) {
    const [frameworkId, taskId] = key.split('/');
    const fw = state.frameworks.get(frameworkId);
    const task = fw?.tasks.get(taskId);
    if (!fw || !task) continue;
    if (!R.contains(left, task.info.resources)) {
      agent.tasks.delete(key);
      agent.used = R.subtract(agent.used, task.info.resources);
      fw.used = R.subtract(fw.used, task.info.resources);
      continue;
    }
    left = R.subtract(left, task.info.resources);
    out.push({ frameworkId, role: task.role, resources: task.info.resources });
  }
  return out;
}

/**
 * markAgentGone is the operator's final word on an agent (MARK_AGENT_GONE): its offers are
 * rescinded, every task on it, unreachable ones included, becomes GONE_BY_OPERATOR (LOST for
 * frameworks that are not partition aware), the agent is told to shut down, and its id is never
 * readmitted.
 */
export function markAgentGone(state: MasterState, agent: AgentRecord, now: number): Effect[] {
  const agentId = agent.info.id;
  const effects: Effect[] = [];
  if (agent.status === AgentStatus.ACTIVE) {
    for (const offerId of [...agent.offers]) effects.push(...rescindOffer(state, offerId));
  }
  for (const fw of state.frameworks.values()) {
    for (const task of [...fw.tasks.values()]) {
      if (task.agentId !== agentId) continue;
      // An unreachable task no longer counts as used; put it back so that ending it balances.
      if (!agent.tasks.has(taskKey(fw.info.id, task.info.taskId)))
        fw.used = R.add(fw.used, task.info.resources);
      const status: TaskStatus = {
        taskId: task.info.taskId,
        agentId,
        state: stateForFramework(TaskState.GONE_BY_OPERATOR, partitionAware(fw.info.capabilities)),
        reason: Reason.AGENT_REMOVED_BY_OPERATOR,
        source: Source.MASTER,
        message: 'agent was marked gone by an operator',
        timestamp: now,
      };
      updateTask(state, fw, task, status);
      effects.push(
        ...frameworkEvent(fw, {
          kind: 'framework',
          frameworkId: fw.info.id,
          event: { type: 'UPDATE', status },
        }),
      );
    }
  }
  state.allocator.removeAgent(agentId);
  agent.status = AgentStatus.REMOVED;
  agent.gone = true;
  agent.used = [];
  agent.tasks.clear();
  effects.push({
    kind: 'agent',
    agentId,
    message: { type: 'SHUTDOWN', message: 'agent was marked gone by an operator' },
  });
  for (const fw of state.frameworks.values()) {
    effects.push(
      ...frameworkEvent(fw, {
        kind: 'framework',
        frameworkId: fw.info.id,
        event: { type: 'FAILURE', agentId },
      }),
    );
  }
  effects.push({ kind: 'allocate' });
  return effects;
}
