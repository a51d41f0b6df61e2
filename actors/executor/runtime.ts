import { randomUUID } from 'node:crypto';
import { createActor } from 'xstate';
import type { Bus, Logger } from '../../bus/index.js';
import { AgentToExecutor, ExecutorToAgent, type Subjects, TaskOutput } from '../../protocol/index.js';
import { type Clock, systemClock } from '../common/index.js';
import { type ExecutorEvent, executorMachine } from './machine.js';
import { TaskEnv, type TaskFile } from './task-file.js';
import { startTaskProcess, type TaskProcess } from './task-process.js';

/** ExecutorOptions are what one executor run needs. */
export interface ExecutorOptions {
  bus: Bus;
  subjects: Subjects;
  log: Logger;
  clock?: Clock;
  file: TaskFile;
  sandbox: string;
  /** The executor's own environment; the task gets PATH, HOME and LANG from it. */
  env?: NodeJS.ProcessEnv;
  /** Resend interval of unacknowledged updates (ms, default 1000). */
  resendMs?: number;
  /** How long to wait for the terminal update's acknowledgement before exiting anyway (ms, default 60000). */
  giveUpMs?: number;
}

/** ExecutorRun is a running executor. */
export interface ExecutorRun {
  /** Kills the task as a KILL without a grace period of its own would (the executor got a signal). */
  kill(): void;
  /** Resolves when the terminal update is acknowledged (or given up on). */
  done: Promise<void>;
}

/** taskEnvironment is what the task sees: PATH, HOME and LANG, the command's own env, and its ids. */
export function taskEnvironment(
  file: TaskFile,
  sandbox: string,
  own: NodeJS.ProcessEnv,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG']) {
    const v = own[name];
    if (v !== undefined) env[name] = v;
  }
  return {
    ...env,
    ...file.task.command.env,
    [TaskEnv.TASK_ID]: file.task.taskId,
    [TaskEnv.FRAMEWORK_ID]: file.frameworkId,
    [TaskEnv.AGENT_ID]: file.agentId,
    [TaskEnv.SANDBOX]: sandbox,
  };
}

/**
 * runExecutor runs one task under the executor machine: it listens for the agent, then starts the
 * machine, which reports, spawns and kills through the effects bound here. This is the only file
 * of the executor that touches the bus.
 */
export async function runExecutor(opts: ExecutorOptions): Promise<ExecutorRun> {
  const { bus, subjects, file, sandbox } = opts;
  const clock = opts.clock ?? systemClock;
  const { agentId, executorId, frameworkId } = file;
  const taskId = file.task.taskId;
  const log = opts.log.child({ taskId });
  const stamp = () => ({ now: clock.now(), uuid: randomUUID() });

  const send = (event: ExecutorEvent) => {
    if (actor.getSnapshot().status === 'active') actor.send(event);
  };
  const guarded = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      log.error({ err }, `could not ${what}`);
    }
  };

  let task: TaskProcess | undefined;
  const machine = executorMachine.provide({
    actions: {
      publishUpdate: (_, p) =>
        guarded('publish a status update', () =>
          bus.publish(subjects.agentExecutors(agentId), ExecutorToAgent, {
            type: 'STATUS_UPDATE',
            executorId,
            frameworkId,
            status: p.status,
          }),
        ),
      publishRegister: (_, p) =>
        guarded('register with the agent', () =>
          bus.publish(subjects.agentExecutors(agentId), ExecutorToAgent, {
            type: 'REGISTER',
            executorId,
            frameworkId,
            taskId,
            pid: p.pid,
          }),
        ),
      spawnTask: () => {
        task = startTaskProcess(
          {
            command: file.task.command,
            sandbox,
            env: taskEnvironment(file, sandbox, opts.env ?? process.env),
            publishOutput: (chunk) =>
              guarded('publish output', () =>
                bus.publish(subjects.taskOutput(frameworkId, taskId), TaskOutput, chunk),
              ),
          },
          {
            spawned: (pid) => send({ type: 'SPAWNED', pid, ...stamp() }),
            failed: (program, error) => send({ type: 'SPAWN_FAILED', program, ...error, ...stamp() }),
            exited: (exitCode, signal) => send({ type: 'TASK_EXITED', exitCode, signal, ...stamp() }),
          },
        );
      },
      signalTask: (_, p) => task?.signal(p.signal),
      warn: (_, p) => log.warn(p.message),
    },
    delays: {
      resend: opts.resendMs ?? 1000,
      giveUp: opts.giveUpMs ?? 60_000,
    },
  });

  let lastState = '';
  const actor = createActor(machine, {
    input: {
      agentId,
      executorId,
      frameworkId,
      taskId,
      defaultGracePeriodSeconds: file.killPolicy.gracePeriodSeconds,
      ...stamp(),
    },
    inspect: (ev) => {
      if (ev.type !== '@xstate.snapshot' || ev.actorRef !== actor) return;
      const value = JSON.stringify((ev.snapshot as { value?: unknown }).value);
      if (value !== lastState) {
        lastState = value;
        log.info({ state: JSON.parse(value) }, 'executor state');
      }
    },
  });

  const unsubscribe = bus.listen(subjects.executor(agentId, executorId), AgentToExecutor, (msg) => {
    if (msg.type === 'ACK') send({ type: 'ACK', uuid: msg.uuid });
    else if (msg.type === 'KILL') send({ type: 'KILL', gracePeriodSeconds: msg.gracePeriodSeconds });
    else send({ type: 'KILL' });
  });
  await bus.flush();

  const done = new Promise<void>((resolve) => {
    actor.subscribe({
      complete: () => resolve(),
      error: (err) => {
        log.error({ err }, 'executor actor failed');
        task?.signal('SIGKILL');
        resolve();
      },
    });
  }).then(() => unsubscribe());
  actor.start();

  return { kill: () => send({ type: 'KILL' }), done };
}
