import {
  AgentCapability,
  FrameworkStatus,
  isTerminal,
  type MasterToBatchingAgentInput,
  Reason,
  RoleName,
  type SchedulerCall,
  Source,
  type Subscribed,
  stateForFramework,
  TaskState,
  type TaskStatus,
} from '../../protocol/index.js';
import { partitionAware, planAccept } from './accept-plan.js';
import {
  acknowledged,
  addTask,
  findTask,
  frameworkEvent,
  knowsUuid,
  refusal,
  removeFramework,
  removeOffer,
  takeOffer,
  taskRecord,
} from './bookkeeping.js';
import { compactInfo } from './compact-records.js';
import { type Effect, MasterError, type Outcome } from './effects.js';
import { reconcile } from './reconcile.js';
import { shareTaskParts } from './shared-parts.js';
import type { FrameworkRecord, MasterState, TaskRecord } from './state.js';
import { TaskMap } from './task-map.js';

type Call<T extends SchedulerCall['type']> = Extract<SchedulerCall, { type: T }>;
type RunTasks = Extract<MasterToBatchingAgentInput, { type: 'RUN_TASKS' }>;

/**
 * handleSchedulerCall applies one framework call to the master's state. It validates first and
 * throws MasterError before changing anything when the call cannot be honoured.
 */
export function handleSchedulerCall(
  state: MasterState,
  frameworkId: string,
  call: SchedulerCall,
  now: number,
): Outcome<Subscribed | Record<string, never>> {
  if (call.type === 'SUBSCRIBE') return subscribe(state, frameworkId, call, now);
  const fw = state.frameworks.get(frameworkId);
  if (!fw || fw.status === FrameworkStatus.REMOVED) {
    throw new MasterError(
      fw ? 'FORBIDDEN' : 'NOT_FOUND',
      fw ? `framework ${frameworkId} has been removed` : `framework ${frameworkId} is not subscribed`,
    );
  }
  if (fw.status !== FrameworkStatus.CONNECTED) {
    throw new MasterError('CONFLICT', `framework ${frameworkId} is disconnected; SUBSCRIBE again first`);
  }
  fw.lastSeenAt = now;
  const ok = (effects: Effect[] = []): Outcome<Record<string, never>> => ({ result: {}, effects });
  switch (call.type) {
    case 'HEARTBEAT':
      return ok();
    case 'TEARDOWN':
      return ok(removeFramework(state, fw, now, 'framework teardown'));
    case 'ACCEPT':
      return ok(accept(state, fw, call, now));
    case 'DECLINE':
      return ok(decline(state, fw, call, now));
    case 'REVIVE':
      state.allocator.revive(fw.info.id, call.roles?.length ? call.roles : undefined);
      return ok([{ kind: 'allocate' }]);
    case 'SUPPRESS':
      state.allocator.suppress(fw.info.id, call.roles?.length ? call.roles : undefined);
      return ok();
    case 'KILL':
      return ok(kill(fw, call.taskId, now, call.killPolicy));
    case 'ACKNOWLEDGE':
      return ok(acknowledge(state, fw, call));
    case 'ACKNOWLEDGE_BATCH':
      return ok(acknowledgeBatch(state, fw, call));
    case 'RECONCILE':
      return ok(
        reconcileCall(state, fw, call.tasks, now).map((status) => ({
          kind: 'framework',
          frameworkId: fw.info.id,
          event: { type: 'UPDATE', status },
        })),
      );
  }
}

function subscribe(
  state: MasterState,
  frameworkId: string,
  call: Call<'SUBSCRIBE'>,
  now: number,
): Outcome<Subscribed> {
  const info = call.framework;
  if (info.id !== frameworkId) {
    throw new MasterError(
      'BAD_REQUEST',
      `framework.id ${info.id} does not match the subject's ${frameworkId}`,
    );
  }
  const existing = state.frameworks.get(frameworkId);
  if (existing?.status === FrameworkStatus.REMOVED) {
    throw new MasterError(
      'FORBIDDEN',
      `framework ${frameworkId} has been removed and cannot subscribe again`,
    );
  }
  const badRole = info.roles.find((r) => !RoleName.safeParse(r).success);
  if (badRole !== undefined)
    throw new MasterError('BAD_REQUEST', `role "${badRole}" is not a valid role name`);
  const interval = state.config.frameworkHeartbeatIntervalSeconds;
  const effects: Effect[] = [{ kind: 'allocate' }];
  if (existing) {
    // Resubscription (failover): keep tasks; outstanding offers are rescinded so the new
    // scheduler instance sees fresh ones.
    for (const offerId of [...existing.offers]) removeOffer(state, offerId);
    if (
      existing.status === FrameworkStatus.CONNECTED &&
      existing.session &&
      existing.session !== call.session
    ) {
      // Another scheduler instance takes over: the one it replaces hears that it is done.
      effects.push({
        kind: 'framework',
        frameworkId,
        event: {
          type: 'ERROR',
          message: 'framework was taken over by another scheduler subscribing with its id',
          session: existing.session,
        },
      });
    }
    existing.session = call.session;
    existing.info = info;
    existing.status = FrameworkStatus.CONNECTED;
    existing.lastSeenAt = now;
    existing.disconnectedAt = undefined;
    existing.nextHeartbeatAt = now + interval * 1000;
  } else {
    const fw: FrameworkRecord = {
      info,
      session: call.session,
      status: FrameworkStatus.CONNECTED,
      subscribedAt: now,
      lastSeenAt: now,
      nextHeartbeatAt: now + interval * 1000,
      used: [],
      offered: [],
      tasks: new TaskMap(),
      completed: [],
      offers: new Set(),
    };
    state.frameworks.set(frameworkId, fw);
  }
  // Also turns a framework known only from agents' reports into a real one; suppression is kept.
  state.allocator.addFramework(frameworkId, {
    roles: info.roles,
    capabilities: info.capabilities,
    active: true,
  });
  return {
    result: {
      frameworkId,
      heartbeatIntervalSeconds: interval,
      masterId: state.config.masterId,
      resubscribed: !!existing,
    },
    effects,
  };
}

function accept(state: MasterState, fw: FrameworkRecord, call: Call<'ACCEPT'>, now: number): Effect[] {
  const plan = planAccept({
    frameworkId: fw.info.id,
    partitionAware: partitionAware(fw.info.capabilities),
    offers: new Map(
      call.offerIds.flatMap((id) => {
        const rec = state.offers.get(id);
        return rec ? [[id, rec.offer] as const] : [];
      }),
    ),
    agentActive: (id) => state.agents.get(id)?.status === 'ACTIVE',
    // The task map itself: copying it into a Set made every ACCEPT cost O(tasks of the framework).
    activeTaskIds: fw.tasks,
    offerIds: call.offerIds,
    operations: call.operations,
    now,
  });
  if (plan.operationError) throw new MasterError('BAD_REQUEST', plan.operationError);
  const effects: Effect[] = plan.rejected.map((status) => ({
    kind: 'framework',
    frameworkId: fw.info.id,
    event: { type: 'UPDATE', status },
  }));
  if (plan.role === undefined || plan.agentId === undefined) {
    // Invalid offers: the valid ones among them go back, unfiltered.
    for (const id of plan.usedOfferIds) removeOffer(state, id);
    effects.push({ kind: 'allocate' });
    return effects;
  }
  const { role, agentId } = plan;
  const agent = state.agents.get(agentId);
  // A BATCHING agent gets the tasks of one ACCEPT in one RUN_TASKS, in launch order.
  const batch: RunTasks['tasks'] | undefined = agent?.info.capabilities?.includes(AgentCapability.BATCHING)
    ? []
    : undefined;
  for (const id of plan.usedOfferIds) takeOffer(state, id);
  for (const step of plan.steps) {
    if (step.type !== 'LAUNCH') {
      const total = state.allocator.updateOffered(fw.info.id, role, agentId, step);
      if (agent) agent.total = total;
      continue;
    }
    const info = compactInfo(step.task);
    info.resources = step.resources;
    shareTaskParts(info, agentId);
    const status: TaskStatus = {
      taskId: info.taskId,
      state: TaskState.STAGING,
      source: Source.MASTER,
      agentId,
      timestamp: now,
    };
    state.allocator.use(fw.info.id, role, agentId, step.resources);
    addTask(state, taskRecord(fw.info.id, agentId, role, info, status));
    if (batch) batch.push(info);
    else
      effects.push({ kind: 'agent', agentId, message: { type: 'RUN_TASK', framework: fw.info, task: info } });
  }
  if (batch?.length)
    effects.push({
      kind: 'agent',
      agentId,
      message: { type: 'RUN_TASKS', framework: fw.info, tasks: batch },
    });
  state.allocator.recover(
    fw.info.id,
    role,
    agentId,
    plan.unused,
    refusal(call.filters?.refuseSeconds ?? 5, now),
  );
  effects.push({ kind: 'allocate' });
  return effects;
}

function decline(state: MasterState, fw: FrameworkRecord, call: Call<'DECLINE'>, now: number): Effect[] {
  const filter = refusal(call.filters?.refuseSeconds ?? 5, now);
  for (const id of new Set(call.offerIds)) {
    const rec = state.offers.get(id);
    if (!rec || rec.offer.frameworkId !== fw.info.id) continue; // unknown offers are ignored, as in Mesos
    removeOffer(state, id, filter);
  }
  return [{ kind: 'allocate' }];
}

/** kill asks the task's agent to kill it; a task the master does not know is answered at once. */
export function kill(
  fw: FrameworkRecord,
  taskId: string,
  now: number,
  killPolicy?: { gracePeriodSeconds: number },
): Effect[] {
  const task = fw.tasks.get(taskId);
  if (!task) {
    const completed = fw.completed.findLast((t) => t.info.taskId === taskId);
    const status: TaskStatus = completed
      ? {
          ...completed.status,
          uuid: undefined,
          reason: Reason.RECONCILIATION,
          source: Source.MASTER,
          timestamp: now,
        }
      : {
          taskId,
          state: stateForFramework(TaskState.UNKNOWN, partitionAware(fw.info.capabilities)),
          reason: Reason.TASK_UNKNOWN,
          source: Source.MASTER,
          message: 'task is unknown to the master',
          timestamp: now,
        };
    return frameworkEvent(fw, {
      kind: 'framework',
      frameworkId: fw.info.id,
      event: { type: 'UPDATE', status },
    });
  }
  return [
    {
      kind: 'agent',
      agentId: task.agentId,
      message: {
        type: 'KILL_TASK',
        frameworkId: fw.info.id,
        taskId,
        killPolicy: killPolicy ?? task.info.killPolicy,
      },
    },
  ];
}

/**
 * acknowledge relays a framework's ack to the agent, after checking that the task is this
 * framework's, runs on that agent, and that the uuid is one of the updates the master forwarded.
 */
function acknowledge(state: MasterState, fw: FrameworkRecord, call: Call<'ACKNOWLEDGE'>): Effect[] {
  const task = checkAck(state, fw, call);
  acknowledged(fw, task, call.uuid);
  return [
    {
      kind: 'agent',
      agentId: call.agentId,
      message: { type: 'STATUS_UPDATE_ACK', frameworkId: fw.info.id, taskId: call.taskId, uuid: call.uuid },
    },
  ];
}

/**
 * acknowledgeBatch is many ACKNOWLEDGEs at once: every ack is checked first and one refused ack
 * refuses the call, changing nothing. The acks are relayed one message per agent to BATCHING
 * agents (STATUS_UPDATE_ACKS), one per ack to the others.
 */
function acknowledgeBatch(
  state: MasterState,
  fw: FrameworkRecord,
  call: Call<'ACKNOWLEDGE_BATCH'>,
): Effect[] {
  const tasks = call.acks.map((ack) => checkAck(state, fw, ack));
  const byAgent = new Map<string, { frameworkId: string; taskId: string; uuid: string }[]>();
  const effects: Effect[] = [];
  call.acks.forEach((ack, i) => {
    acknowledged(fw, tasks[i], ack.uuid);
    const relayed = { frameworkId: fw.info.id, taskId: ack.taskId, uuid: ack.uuid };
    if (state.agents.get(ack.agentId)?.info.capabilities?.includes(AgentCapability.BATCHING)) {
      const list = byAgent.get(ack.agentId);
      if (list) list.push(relayed);
      else byAgent.set(ack.agentId, [relayed]);
    } else
      effects.push({
        kind: 'agent',
        agentId: ack.agentId,
        message: { type: 'STATUS_UPDATE_ACK', ...relayed },
      });
  });
  for (const [agentId, acks] of byAgent)
    effects.push({ kind: 'agent', agentId, message: { type: 'STATUS_UPDATE_ACKS', acks } });
  return effects;
}

/** checkAck finds the task an ack is for, refusing it unless the task, its agent and the uuid match. */
function checkAck(
  state: MasterState,
  fw: FrameworkRecord,
  call: { agentId: string; taskId: string; uuid: string },
): TaskRecord {
  const agent = state.agents.get(call.agentId);
  if (!agent) throw new MasterError('NOT_FOUND', `agent ${call.agentId} is unknown`);
  const task = findTask(fw, call.taskId);
  if (!task) throw new MasterError('NOT_FOUND', `task ${call.taskId} of framework ${fw.info.id} is unknown`);
  if (task.agentId !== call.agentId) {
    throw new MasterError(
      'BAD_REQUEST',
      `task ${call.taskId} runs on agent ${task.agentId}, not ${call.agentId}`,
    );
  }
  if (!knowsUuid(task, call.uuid)) {
    throw new MasterError('BAD_REQUEST', `uuid ${call.uuid} is not a status update of task ${call.taskId}`);
  }
  return task;
}

function reconcileCall(
  state: MasterState,
  fw: FrameworkRecord,
  tasks: readonly { taskId: string; agentId?: string }[],
  now: number,
): TaskStatus[] {
  const known = new Map<string, TaskStatus>();
  for (const t of fw.completed) known.set(t.info.taskId, t.status);
  for (const t of fw.tasks.values()) known.set(t.info.taskId, t.status);
  // After a failover, tasks on agents that have not re-registered yet get no answer (Mesos).
  const asked = tasks.filter((t) => known.has(t.taskId) || !t.agentId || !state.recovering?.has(t.agentId));
  if (tasks.length > 0 && asked.length === 0) return [];
  return reconcile(
    {
      known,
      // Only an agent marked gone answers GONE_BY_OPERATOR; one that left on its own is unknown.
      agentStatus: (id) => {
        const agent = state.agents.get(id);
        return agent?.status === 'REMOVED' && !agent.gone ? undefined : agent?.status;
      },
      partitionAware: partitionAware(fw.info.capabilities),
      now,
    },
    asked,
  ).filter((s) => tasks.length > 0 || !isTerminal(s.state) || fw.tasks.has(s.taskId));
}
