import { isTerminal, type Reason, Source, type StatusUpdate, type TaskState } from '../../protocol/index.js';
import { exponentialMs } from '../common/index.js';
import { type AgentContext, MAX_COMPLETED_TASKS, type Step, withTask } from './agent-state.js';
import type { AgentEffect } from './effects.js';
import * as Q from './status-update-queue.js';

/** forward sends a stream's head to the master and arms its resend timer. */
function forward(s: AgentContext, key: string, update: StatusUpdate, attempt: number): AgentEffect[] {
  const delayMs = exponentialMs(attempt, {
    baseMs: s.settings.statusUpdateRetryMs,
    capMs: s.settings.statusUpdateRetryCapMs,
  });
  return [
    { kind: 'sendToMaster', message: { type: 'STATUS_UPDATE', update } },
    { kind: 'scheduleRetry', key, uuid: update.status.uuid, delayMs },
  ];
}

/**
 * takeUpdate puts an update on its task's stream (dropping a duplicate uuid or anything after a
 * terminal update) and forwards it at once when it is the head and a master is there.
 */
export function takeUpdate(
  s: AgentContext,
  key: string,
  update: StatusUpdate,
): Step & { outcome: Q.EnqueueResult['outcome'] } {
  const r = Q.enqueue(s.updates, key, update);
  if (r.outcome !== 'queued') return { state: s, effects: [], outcome: r.outcome };
  const state = { ...s, updates: r.queues, retries: r.isHead ? { ...s.retries, [key]: 0 } : s.retries };
  const effects = r.isHead && s.connected ? forward(state, key, update, 0) : [];
  return { state, effects, outcome: 'queued' };
}

/** recordUpdate takes an update onto its task's stream and, when taken, makes it the task's latest status. */
export function recordUpdate(
  s: AgentContext,
  key: string,
  update: StatusUpdate,
): Step & { outcome: Q.EnqueueResult['outcome'] } {
  const taken = takeUpdate(s, key, update);
  if (taken.outcome !== 'queued') return taken;
  return { ...taken, state: withTask(taken.state, key, { status: update.status }) };
}

/**
 * acknowledgeUpdate pops a stream's head when the master acknowledges its uuid and forwards the
 * next one; an acknowledgement of anything but the head changes nothing.
 */
export function acknowledgeUpdate(s: AgentContext, key: string, uuid: string): Step {
  const r = Q.acknowledge(s.updates, key, uuid);
  if (!r.acked) return { state: s, effects: [] };
  const effects: AgentEffect[] = [{ kind: 'cancelRetry', key }];
  const state = { ...s, updates: r.queues, retries: { ...s.retries, [key]: 0 } };
  if (r.next && state.connected) effects.push(...forward(state, key, r.next, 0));
  const settled = settle(state, key);
  return { state: settled, effects };
}

/** retryUpdate resends a head that is still unacknowledged, each time waiting twice as long (capped). */
export function retryUpdate(s: AgentContext, key: string, uuid: string): Step {
  const h = Q.head(s.updates, key);
  if (!h || h.status.uuid !== uuid || !s.connected) return { state: s, effects: [] };
  const attempt = (s.retries[key] ?? 0) + 1;
  return { state: { ...s, retries: { ...s.retries, [key]: attempt } }, effects: forward(s, key, h, attempt) };
}

/** forwardAll sends every stream's head again, after (re-)registering with a master. */
export function forwardAll(s: AgentContext): Step {
  const effects: AgentEffect[] = [];
  const retries = { ...s.retries };
  for (const [key, h] of Q.heads(s.updates)) {
    retries[key] = 0;
    effects.push(...forward(s, key, h, 0));
  }
  return { state: { ...s, retries }, effects };
}

/**
 * settle forgets a task once nothing more can happen to it: its executor is gone and its
 * terminal update has been acknowledged (or it was never a task here, as for an unknown kill).
 */
export function settle(s: AgentContext, key: string): AgentContext {
  const rec = s.tasks[key];
  if (rec && (!rec.executorExited || !isTerminal(rec.status.state))) return s;
  if (!Q.isDrained(s.updates, key)) return s;
  const { [key]: _task, ...tasks } = s.tasks;
  const { [key]: _retry, ...retries } = s.retries;
  let frameworks = s.frameworks;
  if (rec && !Object.values(tasks).some((t) => t.frameworkId === rec.frameworkId)) {
    const { [rec.frameworkId]: _fw, ...rest } = s.frameworks;
    frameworks = rest;
  }
  const framework = rec ? s.frameworks[rec.frameworkId] : undefined;
  const completed =
    rec && framework
      ? [...s.completed, { framework, task: rec.task, status: rec.status }].slice(-MAX_COMPLETED_TASKS)
      : s.completed;
  return { ...s, tasks, completed, retries, frameworks, updates: Q.forget(s.updates, key) };
}

/** agentUpdate builds a status update the agent itself generates (source SOURCE_AGENT). */
export function agentUpdate(
  s: AgentContext,
  at: { frameworkId: string; taskId: string; executorId?: string },
  state: TaskState,
  reason: Reason | undefined,
  message: string,
  now: number,
  uuid: string,
): StatusUpdate {
  return {
    frameworkId: at.frameworkId,
    status: {
      taskId: at.taskId,
      state,
      ...(reason ? { reason } : {}),
      source: Source.AGENT,
      message,
      agentId: s.agentId,
      ...(at.executorId ? { executorId: at.executorId } : {}),
      uuid,
      timestamp: now,
    },
  };
}
