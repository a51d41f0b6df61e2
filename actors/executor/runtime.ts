import { randomUUID } from 'node:crypto';
import { createActor } from 'xstate';
import type { Bus, Logger } from '../../bus/index.js';
import {
  type Containerizer,
  type ContainerLimits,
  createContainerizer,
  cudaVisibleDevices,
  DEFAULT_DOCKER_SOCKET,
  gpuDeviceDenials,
  type IsolationSettings,
} from '../../isolation/index.js';
import {
  AgentToExecutor,
  Capability,
  ExecutorToAgent,
  resources as R,
  type Subjects,
  TaskOutput,
} from '../../protocol/index.js';
import { type Clock, systemClock } from '../common/index.js';
import { startDockerTask } from './docker-task.js';
import { runProbe } from './health-probe.js';
import { type ExecutorEvent, executorMachine, resendDelayMs } from './machine.js';
import { TaskEnv, type TaskFile } from './task-file.js';
import { startTaskProcess, type TaskProcess } from './task-process.js';
import type { TaskLimitation } from './terminal-status.js';

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
  /** First resend interval of an unacknowledged update (ms, default 1000); doubles per resend up to 10x. */
  resendMs?: number;
  /**
   * How long to wait for the terminal update's acknowledgement without any sign of the agent
   * before exiting anyway (ms, default 60000). An agent that checkpoints gives its executors its recovery timeout here (through
   * RECOVERY_TIMEOUT_ENV), so that a task that ends while the agent restarts is still reported.
   */
  giveUpMs?: number;
  /**
   * Whether the agent that launched this executor still runs (default: this process's parent is
   * still the one it started with). Checked every `aliveCheckMs` (default 1000); while it holds,
   * the executor waits for its terminal update's acknowledgement however long the agent takes.
   */
  agentAlive?: () => boolean;
  aliveCheckMs?: number;
}

/**
 * parentIsAlive tells whether this process's parent is still the one it had when this was called:
 * the agent spawns its executors, and an executor whose agent died is handed to another parent.
 */
export function parentIsAlive(): () => boolean {
  const parent = process.ppid;
  return () => parent > 1 && process.ppid === parent;
}

/**
 * RECOVERY_TIMEOUT_ENV names the variable in which the agent tells an executor how long to wait
 * for it (ms) to acknowledge the terminal update, as Mesos's MESOS_RECOVERY_TIMEOUT.
 */
export const RECOVERY_TIMEOUT_ENV = 'MEZZO_RECOVERY_TIMEOUT_MS';

/** recoveryTimeoutMs reads RECOVERY_TIMEOUT_ENV: a positive whole number of ms, else undefined (the default). */
export function recoveryTimeoutMs(env: NodeJS.ProcessEnv): number | undefined {
  const text = env[RECOVERY_TIMEOUT_ENV];
  if (text === undefined || !/^[0-9]{1,10}$/.test(text)) return undefined;
  const ms = Number(text);
  return ms > 0 ? ms : undefined;
}

/** ExecutorRun is a running executor. */
export interface ExecutorRun {
  /** Kills the task as a KILL without a grace period of its own would (the executor got a signal). */
  kill(): void;
  /** Resolves when the terminal update is acknowledged (or given up on). */
  done: Promise<void>;
}

/** When a SIGTERM to a task in its own pid namespace is sent again (ms after the first). */
const TERM_RESEND_MS = [250, 1000];

/** CUDA_VISIBLE_DEVICES names the GPUs a task may use (on an agent with GPUs). */
const CUDA_VISIBLE_DEVICES = 'CUDA_VISIBLE_DEVICES';

/** containerLimits are a task's cpus and mem as its container's limits. */
export function containerLimits(file: TaskFile, iso: IsolationSettings): ContainerLimits {
  return {
    cpus: R.scalar(file.task.resources, 'cpus'),
    memMb: R.scalar(file.task.resources, 'mem'),
    pidsMax: iso.pidsMax,
    enableCfs: iso.enableCfs,
    deniedDevices: iso.agentGpus ? gpuDeviceDenials(iso.agentGpus, iso.gpus ?? []) : undefined,
    rlimits: file.task.rlimits,
  };
}

/**
 * taskEnvironment is what the task sees: PATH, HOME and LANG, the command's own env, its ids, and
 * on an agent with GPUs, CUDA_VISIBLE_DEVICES naming only the GPUs it was given (empty if none).
 */
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
    ...file.task.command.secrets,
    [TaskEnv.TASK_ID]: file.task.taskId,
    [TaskEnv.FRAMEWORK_ID]: file.frameworkId,
    [TaskEnv.AGENT_ID]: file.agentId,
    [TaskEnv.SANDBOX]: sandbox,
    ...(file.isolation?.gpus ? { [CUDA_VISIBLE_DEVICES]: cudaVisibleDevices(file.isolation.gpus) } : {}),
  };
}

/** Container is the one container of an executor's task, or why it could not be made. */
type Container =
  | { ok: true; id: string; containerizer: Containerizer }
  | { ok: false; message: string }
  | undefined;

/** prepareContainer creates the task's container (cgroups and limits) before the task is spawned. */
async function prepareContainer(file: TaskFile, log: Logger): Promise<Container> {
  const iso = file.isolation;
  // The Docker engine makes a DOCKER task's container (and its cgroups) itself.
  if (!iso || file.task.container) return undefined;
  const containerizer = createContainerizer(iso);
  try {
    await containerizer.prepare(iso.containerId, containerLimits(file, iso));
    log.info({ containerId: iso.containerId, isolators: containerizer.names() }, 'container prepared');
    return { ok: true, id: iso.containerId, containerizer };
  } catch (err) {
    log.error({ err }, 'could not prepare the container');
    const cause = (err as Error).cause as Error | undefined;
    return { ok: false, message: `${(err as Error).message}${cause ? `: ${cause.message}` : ''}` };
  }
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

  const container = await prepareContainer(file, log);
  const namespaced = file.isolation?.isolators.includes('namespaces/pid') ?? false;
  let limitation: TaskLimitation | undefined;
  let stopWatching = () => {};
  /** destroy reads a last limitation and removes the container once its task is gone. */
  const destroy = async () => {
    stopWatching();
    if (!container?.ok) return;
    limitation ??= container.containerizer.limitation(container.id);
    await container.containerizer
      .cleanup(container.id)
      .catch((err) => log.error({ err }, 'could not clean up the container'));
  };

  let task: TaskProcess | undefined;
  /** Aborted once the run is over, so that no health check command outlives the executor. */
  const probes = new AbortController();
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
        if (file.task.container?.type === 'DOCKER') {
          task = startDockerTask(
            {
              file,
              sandbox,
              socketPath: file.isolation?.dockerSocket ?? DEFAULT_DOCKER_SOCKET,
              publishOutput: (chunk) =>
                guarded('publish output', () =>
                  bus.publish(subjects.taskOutput(frameworkId, taskId), TaskOutput, chunk),
                ),
            },
            {
              spawned: () => send({ type: 'SPAWNED', ...stamp() }),
              failed: (message) => {
                log.error({ message }, 'could not launch the docker container');
                send({ type: 'CONTAINER_FAILED', message, ...stamp() });
              },
              exited: (exitCode, signal, limitation) =>
                send({ type: 'TASK_EXITED', exitCode, signal, limitation, ...stamp() }),
            },
          );
          return;
        }
        if (container && !container.ok) {
          send({
            type: 'SPAWN_FAILED',
            program: 'container',
            message: `could not isolate the task: ${container.message}`,
            ...stamp(),
          });
          return;
        }
        task = startTaskProcess(
          {
            command: file.task.command,
            sandbox,
            env: taskEnvironment(file, sandbox, opts.env ?? process.env),
            publishOutput: (chunk) =>
              guarded('publish output', () =>
                bus.publish(subjects.taskOutput(frameworkId, taskId), TaskOutput, chunk),
              ),
            wrap: container?.ok
              ? (program, args) => container.containerizer.launchPlan(container.id, program, args, sandbox)
              : undefined,
          },
          {
            spawned: (pid) => {
              if (container?.ok) {
                // The kernel has already OOM-killed a process; kill the rest, as Mesos destroys the container.
                stopWatching = container.containerizer.watch(container.id, (l) => {
                  log.warn({ limitation: l }, 'the task ran into a container limit: killing it');
                  limitation = l;
                  task?.signal('SIGKILL');
                });
              }
              send({ type: 'SPAWNED', pid, ...stamp() });
            },
            failed: (program, error) =>
              void destroy().then(() => send({ type: 'SPAWN_FAILED', program, ...error, ...stamp() })),
            exited: (exitCode, signal) =>
              void destroy().then(() =>
                send({ type: 'TASK_EXITED', exitCode, signal, limitation, ...stamp() }),
              ),
          },
        );
      },
      signalTask: (_, p) => {
        task?.signal(p.signal);
        // pid 1 of a pid namespace drops a SIGTERM that comes before its init has set its trap.
        if (p.signal === 'SIGTERM' && namespaced)
          for (const ms of TERM_RESEND_MS) setTimeout(() => task?.signal('SIGTERM'), ms).unref();
      },
      warn: (_, p) => log.warn(p.message),
      probeHealth: (_, p) =>
        void runProbe(p.check, {
          sandbox,
          env: taskEnvironment(file, sandbox, opts.env ?? process.env),
          signal: probes.signal,
        }).then((outcome) => {
          if (!outcome.ok) log.info({ message: outcome.message }, 'health check failed');
          send({ type: 'HEALTH_RESULT', ...outcome, ...stamp(), killUuid: randomUUID() });
        }),
    },
    delays: {
      resend: ({ context }) => resendDelayMs(opts.resendMs ?? 1000, context.resendAttempts),
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
      healthCheck: file.task.healthCheck,
      taskKillingState: file.framework?.capabilities.includes(Capability.TASK_KILLING_STATE) ?? false,
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

  /** reconnect answers a restarted agent: REGISTER again (with the task's pid) and resend the outbox head now. */
  const reconnect = () => {
    if (actor.getSnapshot().status !== 'active') return;
    const pid = actor.getSnapshot().context.taskPid;
    log.info({ pid }, 'the agent restarted: registering again');
    if (pid !== undefined)
      guarded('register with the agent again', () =>
        bus.publish(subjects.agentExecutors(agentId), ExecutorToAgent, {
          type: 'REGISTER',
          executorId,
          frameworkId,
          taskId,
          pid,
        }),
      );
    send({ type: 'RESEND' });
  };
  const unsubscribe = bus.listen(subjects.executor(agentId, executorId), AgentToExecutor, (msg) => {
    send({ type: 'AGENT_ALIVE' });
    if (msg.type === 'ACK') send({ type: 'ACK', uuid: msg.uuid });
    else if (msg.type === 'KILL')
      send({ type: 'KILL', gracePeriodSeconds: msg.gracePeriodSeconds, ...stamp() });
    else if (msg.type === 'RECONNECT') reconnect();
    else send({ type: 'SHUTDOWN', ...stamp() });
  });
  await bus.flush();
  const agentAlive = opts.agentAlive ?? parentIsAlive();
  const aliveTimer = setInterval(() => {
    if (agentAlive()) send({ type: 'AGENT_ALIVE' });
  }, opts.aliveCheckMs ?? 1000);
  aliveTimer.unref();

  const done = new Promise<void>((resolve) => {
    actor.subscribe({
      complete: () => resolve(),
      error: (err) => {
        log.error({ err }, 'executor actor failed');
        task?.signal('SIGKILL');
        resolve();
      },
    });
  })
    .then(() => {
      clearInterval(aliveTimer);
      probes.abort();
    })
    .then(destroy)
    .then(() => unsubscribe());
  actor.start();

  return { kill: () => send({ type: 'KILL', ...stamp() }), done };
}
