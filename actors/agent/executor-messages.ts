import {
  type ExecutorToAgent,
  isTerminal,
  Reason,
  type StatusUpdate,
  TaskState,
} from '../../protocol/index.js';
import { type AgentContext, type Step, taskKey, unchanged, withTask } from './agent-state.js';
import type { AgentEffect } from './effects.js';
import { agentUpdate, recordUpdate, settle } from './status-forwarding.js';

/**
 * executorMessage handles what an executor says. REGISTER tells the task's pid (its process
 * group); STATUS_UPDATE is taken onto the task's stream (a duplicate uuid is dropped) and always
 * ACKed so the executor stops resending. An executor the agent does not know is told to SHUT DOWN.
 * `taskStartTime` is the start time of REGISTER's pid, read by the runtime.
 */
export function executorMessage(s: AgentContext, msg: ExecutorToAgent, taskStartTime?: string): Step {
  const taskId = msg.type === 'REGISTER' ? msg.taskId : msg.status.taskId;
  const key = taskKey(msg.frameworkId, taskId);
  const rec = s.tasks[key];
  if (!rec || rec.executorId !== msg.executorId || rec.executorExited) {
    return unchanged(
      s,
      {
        kind: 'warn',
        message: `executor ${msg.executorId} is unknown: telling it to shut down`,
        fields: { frameworkId: msg.frameworkId, taskId },
      },
      { kind: 'sendToExecutor', executorId: msg.executorId, message: { type: 'SHUTDOWN' } },
    );
  }
  if (msg.type === 'REGISTER')
    return unchanged(
      withTask(s, key, {
        executorRegistered: true,
        taskPid: msg.pid,
        ...(taskStartTime !== undefined ? { taskStartTime } : {}),
      }),
    );
  const registered = withTask(s, key, { executorRegistered: true });
  const update: StatusUpdate = {
    frameworkId: msg.frameworkId,
    status: { ...msg.status, agentId: s.agentId, executorId: msg.executorId },
  };
  const taken = recordUpdate(registered, key, update);
  const effects: AgentEffect[] = [...taken.effects];
  if (taken.outcome === 'after-terminal') {
    effects.push({
      kind: 'warn',
      message: 'dropping a status update that came after a terminal one',
      fields: { key, state: update.status.state },
    });
  }
  effects.push({
    kind: 'sendToExecutor',
    executorId: msg.executorId,
    message: { type: 'ACK', uuid: msg.status.uuid },
  });
  return { state: taken.state, effects };
}

/** describeExit words how an executor process ended. */
function describeExit(code: number | null, signal: string | null): string {
  return signal
    ? `Executor terminated by signal ${signal}`
    : `Executor exited with status ${code ?? 'unknown'}`;
}

/**
 * executorExited handles the end of an executor process: the task's process group is SIGKILLed
 * (nothing it started may outlive it), and a task left without a terminal update gets one from
 * the agent: TASK_KILLED if a kill was asked for, else TASK_FAILED with REASON_EXECUTOR_TERMINATED.
 * `message` words the end when the exit status cannot be known (an executor of an earlier run).
 */
export function executorExited(
  s: AgentContext,
  key: string,
  code: number | null,
  signal: string | null,
  now: number,
  uuid: string,
  message?: string,
): Step {
  const rec = s.tasks[key];
  if (!rec || rec.executorExited) return unchanged(s);
  const effects: AgentEffect[] = [{ kind: 'cancelKillEscalation', key }];
  if (rec.taskPid !== undefined)
    effects.push({ kind: 'signalProcessGroup', pgid: rec.taskPid, signal: 'SIGKILL' });
  let state = withTask(s, key, { executorExited: true });
  if (!isTerminal(rec.status.state)) {
    const killed = rec.killGracePeriodSeconds !== undefined;
    const update = agentUpdate(
      state,
      { frameworkId: rec.frameworkId, taskId: rec.task.taskId, executorId: rec.executorId },
      killed ? TaskState.KILLED : TaskState.FAILED,
      killed ? undefined : Reason.EXECUTOR_TERMINATED,
      killed
        ? `Task killed (${(message ?? describeExit(code, signal)).toLowerCase()})`
        : (message ?? describeExit(code, signal)),
      now,
      uuid,
    );
    const taken = recordUpdate(state, key, update);
    state = taken.state;
    effects.push(...taken.effects);
  }
  return { state: settle(state, key), effects };
}
