import { join } from 'node:path';
import { type MasterToAgent, Reason, Source, TaskState } from '../../protocol/index.js';
import {
  type AgentContext,
  graceOf,
  type Step,
  type TaskRecord,
  taskKey,
  unchanged,
  withTask,
} from './agent-state.js';
import { agentUpdate, recordUpdate, settle } from './status-forwarding.js';

type RunTask = Extract<MasterToAgent, { type: 'RUN_TASK' }>;

/** sandboxPath is where one run of an executor lives: `<workDir>/frameworks/<f>/executors/<e>/runs/<c>`. */
export function sandboxPath(
  workDir: string,
  frameworkId: string,
  executorId: string,
  containerId: string,
): string {
  return join(workDir, 'frameworks', frameworkId, 'executors', executorId, 'runs', containerId);
}

/**
 * executorIdFor is the task id (the command executor runs one task), unless a live task of another
 * framework with the same id already owns that executor id on this agent: executor subjects carry
 * no framework id, so two live executors must never share one.
 */
function executorIdFor(s: AgentContext, taskId: string, containerId: string): string {
  const taken = Object.values(s.tasks).some((r) => r.executorId === taskId);
  return taken ? `e-${containerId}` : taskId;
}

/**
 * runTask creates the task's record and asks for its executor to be spawned in a fresh sandbox.
 * A task the agent already holds, one meant for another agent, or any task while the agent stops,
 * is ignored with a warning.
 */
export function runTask(s: AgentContext, msg: RunTask, now: number, uuid: string): Step {
  const { framework, task } = msg;
  const key = taskKey(framework.id, task.taskId);
  const fields = { frameworkId: framework.id, taskId: task.taskId };
  if (s.stopping)
    return unchanged(s, { kind: 'warn', message: 'ignoring RUN_TASK: the agent is stopping', fields });
  if (task.agentId !== s.agentId) {
    return unchanged(s, {
      kind: 'warn',
      message: `ignoring RUN_TASK meant for agent ${task.agentId}`,
      fields,
    });
  }
  if (s.tasks[key])
    return unchanged(s, {
      kind: 'warn',
      message: 'ignoring duplicate RUN_TASK for a task the agent holds',
      fields,
    });
  const containerId = uuid.replaceAll('-', '');
  const executorId = executorIdFor(s, task.taskId, containerId);
  const sandbox = sandboxPath(s.settings.workDir, framework.id, executorId, containerId);
  const rec: TaskRecord = {
    frameworkId: framework.id,
    task,
    executorId,
    containerId,
    sandbox,
    status: {
      taskId: task.taskId,
      state: TaskState.STAGING,
      source: Source.AGENT,
      agentId: s.agentId,
      executorId,
      timestamp: now,
    },
    executorRegistered: false,
    executorExited: false,
  };
  const state: AgentContext = {
    ...s,
    tasks: { ...s.tasks, [key]: rec },
    frameworks: { ...s.frameworks, [framework.id]: framework },
  };
  const gracePeriodSeconds = graceOf(state, rec);
  return {
    state,
    effects: [
      {
        kind: 'spawnExecutor',
        launch: {
          key,
          executorId,
          sandbox,
          file: {
            task,
            framework,
            frameworkId: framework.id,
            agentId: s.agentId,
            executorId,
            killPolicy: { gracePeriodSeconds },
          },
        },
      },
    ],
  };
}

/**
 * executorSpawned records the executor's pid (and its start time, which tells it from a later
 * process with the same pid); a kill that came while it launched is carried out now.
 */
export function executorSpawned(s: AgentContext, key: string, pid: number, startTime?: string): Step {
  const rec = s.tasks[key];
  if (!rec || rec.executorExited) return unchanged(s);
  const state = withTask(s, key, {
    executorPid: pid,
    ...(startTime !== undefined ? { executorStartTime: startTime } : {}),
  });
  if (rec.killGracePeriodSeconds === undefined) return unchanged(state);
  return unchanged(state, { kind: 'signalProcessGroup', pgid: pid, signal: 'SIGTERM' });
}

/** executorLaunchFailed fails the task: TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED, from the agent. */
export function executorLaunchFailed(
  s: AgentContext,
  key: string,
  message: string,
  now: number,
  uuid: string,
): Step {
  const rec = s.tasks[key];
  if (!rec || rec.executorExited) return unchanged(s);
  const update = agentUpdate(
    s,
    { frameworkId: rec.frameworkId, taskId: rec.task.taskId, executorId: rec.executorId },
    TaskState.FAILED,
    Reason.CONTAINER_LAUNCH_FAILED,
    `Failed to launch the executor: ${message}`,
    now,
    uuid,
  );
  const taken = recordUpdate(withTask(s, key, { executorExited: true }), key, update);
  return {
    state: settle(taken.state, key),
    effects: [{ kind: 'cancelKillEscalation', key }, ...taken.effects],
  };
}
