import { isTerminal, type KillPolicy, Reason, TaskState } from '../../protocol/index.js';
import {
  type AgentContext,
  graceOf,
  liveTasks,
  type Step,
  type TaskRecord,
  taskKey,
  unchanged,
  withTask,
} from './agent-state.js';
import type { AgentEffect } from './effects.js';
import { agentUpdate, takeUpdate } from './status-forwarding.js';

/** KILL_SLACK_SECONDS is how long past its grace period an executor may take before the agent SIGKILLs it. */
export const KILL_SLACK_SECONDS = 2;

/**
 * requestKill asks a task the agent holds to stop. A registered executor is told to KILL with
 * the grace period (the kill's policy, else the task's, else the agent's default); an executor
 * that has not spoken yet gets SIGTERM on its process group, and the task is reported TASK_KILLED
 * when it exits. Past the grace period plus KILL_SLACK_SECONDS the agent SIGKILLs what is left.
 */
function requestKill(s: AgentContext, key: string, killPolicy: KillPolicy | undefined): Step {
  const rec = s.tasks[key];
  if (!rec || rec.executorExited || isTerminal(rec.status.state)) return unchanged(s);
  const first = rec.killGracePeriodSeconds === undefined;
  const gracePeriodSeconds = killPolicy?.gracePeriodSeconds ?? graceOf(s, rec);
  const state = withTask(s, key, { killGracePeriodSeconds: gracePeriodSeconds });
  const effects: AgentEffect[] = [];
  if (rec.executorRegistered) {
    effects.push({
      kind: 'sendToExecutor',
      executorId: rec.executorId,
      message: { type: 'KILL', gracePeriodSeconds },
    });
  } else if (rec.executorPid !== undefined && first) {
    effects.push({ kind: 'signalProcessGroup', pgid: rec.executorPid, signal: 'SIGTERM' });
  }
  if (first)
    effects.push({
      kind: 'scheduleKillEscalation',
      key,
      delayMs: (gracePeriodSeconds + KILL_SLACK_SECONDS) * 1000,
    });
  return { state, effects };
}

/**
 * killTask handles the master's KILL_TASK. A task the agent does not know is answered with
 * TASK_LOST (REASON_TASK_UNKNOWN), as a reliable update the framework acknowledges.
 */
export function killTask(
  s: AgentContext,
  frameworkId: string,
  taskId: string,
  killPolicy: KillPolicy | undefined,
  now: number,
  uuid: string,
): Step {
  const key = taskKey(frameworkId, taskId);
  if (s.tasks[key]) return requestKill(s, key, killPolicy);
  const update = agentUpdate(
    s,
    { frameworkId, taskId },
    TaskState.LOST,
    Reason.TASK_UNKNOWN,
    'Task is unknown to the agent',
    now,
    uuid,
  );
  const taken = takeUpdate(s, key, update);
  return { state: taken.state, effects: taken.effects };
}

/** killEach kills every live task that passes a filter. */
function killEach(s: AgentContext, which: (rec: TaskRecord) => boolean): Step {
  let state = s;
  const effects: AgentEffect[] = [];
  for (const [key, rec] of liveTasks(s)) {
    if (!which(rec)) continue;
    const step = requestKill(state, key, undefined);
    state = step.state;
    effects.push(...step.effects);
  }
  return { state, effects };
}

/**
 * shutdownFramework kills every task of one framework (it was torn down or removed), and forgets
 * its completed tasks, so that no later re-registration brings the framework back to a new master.
 */
export function shutdownFramework(s: AgentContext, frameworkId: string): Step {
  const step = killEach(s, (rec) => rec.frameworkId === frameworkId);
  if (!step.state.completed.some((c) => c.framework.id === frameworkId)) return step;
  const completed = step.state.completed.filter((c) => c.framework.id !== frameworkId);
  return { ...step, state: { ...step.state, completed } };
}

/** killAll kills every task whose executor still runs and has not reported a terminal state (the agent is stopping). */
export function killAll(s: AgentContext): Step {
  return killEach(s, () => true);
}

/** killEscalation SIGKILLs the process groups of an executor and its task that outlived their grace period. */
export function killEscalation(s: AgentContext, key: string): Step {
  const rec = s.tasks[key];
  if (!rec || rec.executorExited) return unchanged(s);
  return unchanged(s, ...sigkill(rec.executorPid, rec.taskPid));
}

/** reapAll SIGKILLs every executor and task process group still there (the agent's last word on stopping). */
export function reapAll(s: AgentContext): Step {
  return unchanged(s, ...liveTasks(s).flatMap(([, rec]) => sigkill(rec.executorPid, rec.taskPid)));
}

function sigkill(...pgids: (number | undefined)[]): AgentEffect[] {
  return pgids.flatMap((pgid) =>
    pgid === undefined ? [] : [{ kind: 'signalProcessGroup', pgid, signal: 'SIGKILL' } as const],
  );
}

/** stopGraceMs is how long a stopping agent waits for its executors before SIGKILLing them: the longest grace plus 2 s. */
export function stopGraceMs(s: AgentContext): number {
  const graces = liveTasks(s).map(([, rec]) => graceOf(s, rec));
  return (Math.max(0, ...graces) + KILL_SLACK_SECONDS) * 1000;
}
