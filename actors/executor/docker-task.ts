import { join } from 'node:path';
import { DOCKER_SANDBOX, type DockerTaskSpec, dockerClient, runDockerTask } from '../../isolation/index.js';
import { resources as R, type TaskOutput } from '../../protocol/index.js';
import { createOutputPump } from './output-pump.js';
import { TaskEnv, type TaskFile } from './task-file.js';
import type { TaskProcess } from './task-process.js';
import type { TaskLimitation } from './terminal-status.js';

/** DockerTaskEvents are what a Docker task tells the executor, in the words of a command task's. */
export interface DockerTaskEvents {
  spawned(): void;
  /** The container could not be made or started (REASON_CONTAINER_LAUNCH_FAILED). */
  failed(message: string): void;
  /** The container stopped, its output is flushed and published, and it is removed. */
  exited(exitCode: number | null, signal: string | null, limitation?: TaskLimitation): void;
}

/** portsOf lists a task's host ports (at most 1024), or nothing when it has none. */
function portsOf(file: TaskFile): { ports?: number[] } {
  const ports = R.ranges(file.task.resources, 'ports').flatMap(([b, e]) =>
    Array.from({ length: Math.max(0, Math.min(e - b + 1, 1024)) }, (_, i) => b + i),
  );
  return ports.length ? { ports: ports.slice(0, 1024) } : {};
}

/**
 * dockerTaskSpec is what the container runs, from task.json: the image and network, the command,
 * the command's env and the task's ids (MEZZO_SANDBOX is the sandbox as the container sees it; the
 * host's PATH and HOME are not passed, the image has its own), cpus and mem as limits.
 */
export function dockerTaskSpec(file: TaskFile, sandbox: string): DockerTaskSpec {
  const container = file.task.container;
  if (container?.type !== 'DOCKER') throw new Error(`task ${file.task.taskId} is not a DOCKER task`);
  const { command } = file.task;
  return {
    image: container.docker.image,
    network: container.docker.network,
    shell: command.shell,
    value: command.value,
    argv: command.argv,
    env: {
      ...command.env,
      ...command.secrets,
      [TaskEnv.TASK_ID]: file.task.taskId,
      [TaskEnv.FRAMEWORK_ID]: file.frameworkId,
      [TaskEnv.AGENT_ID]: file.agentId,
      [TaskEnv.SANDBOX]: DOCKER_SANDBOX,
    },
    cpus: R.scalar(file.task.resources, 'cpus'),
    memMb: R.scalar(file.task.resources, 'mem'),
    rlimits: file.task.rlimits,
    ...(command.user ? { user: command.user } : {}),
    ...portsOf(file),
    ...(file.isolation?.gpus?.length ? { gpus: file.isolation.gpus } : {}),
    sandbox,
    agentId: file.agentId,
    frameworkId: file.frameworkId,
    taskId: file.task.taskId,
    executorId: file.executorId,
    containerId: file.isolation?.containerId ?? file.executorId,
  };
}

/**
 * startDockerTask runs a DOCKER task through the engine on `socketPath`, its output going to
 * `<sandbox>/stdout` and `<sandbox>/stderr` and to the bus through the same pumps as a command
 * task's. `signal` is `docker kill -s`; an OOM kill is reported as a memory limitation.
 */
export function startDockerTask(
  opts: { file: TaskFile; sandbox: string; socketPath: string; publishOutput(chunk: TaskOutput): void },
  events: DockerTaskEvents,
): TaskProcess {
  const spec = dockerTaskSpec(opts.file, opts.sandbox);
  const stdout = createOutputPump('stdout', join(opts.sandbox, 'stdout'), opts.publishOutput);
  const stderr = createOutputPump('stderr', join(opts.sandbox, 'stderr'), opts.publishOutput);
  const endOutput = () => Promise.all([stdout.end(), stderr.end()]);
  return runDockerTask(
    dockerClient(opts.socketPath),
    spec,
    { stdout: (d) => stdout.write(d), stderr: (d) => stderr.write(d) },
    {
      started: () => events.spawned(),
      failed: (message) => void endOutput().then(() => events.failed(message)),
      exited: (end) =>
        void endOutput().then(() =>
          events.exited(
            end.exitCode,
            end.signal,
            end.oomKilled
              ? {
                  kind: 'memory',
                  message: `Memory limit exceeded: Requested: ${spec.memMb}MB; the container was OOM-killed`,
                }
              : undefined,
          ),
        ),
    },
  );
}
