import type { ContainerCreateOptions } from 'dockerode';
import type { Rlimit } from '../protocol/index.js';
import { dockerUlimits } from './rlimits.js';

/** DOCKER_SANDBOX is where a Docker task finds its sandbox, and its working dir (the Mesos convention). */
export const DOCKER_SANDBOX = '/mnt/mesos/sandbox';

/** DockerLabel names the labels Mezzo puts on its containers, to find them again for cleanup. */
export const DockerLabel = {
  AGENT: 'mezzo.agent',
  FRAMEWORK: 'mezzo.framework',
  TASK: 'mezzo.task',
  EXECUTOR: 'mezzo.executor',
} as const;
export type DockerLabel = (typeof DockerLabel)[keyof typeof DockerLabel];

/** DockerTaskSpec is what one Docker task runs: image, command, limits, sandbox and ids. */
export interface DockerTaskSpec {
  image: string;
  network?: 'host' | 'bridge' | 'none';
  /** `/bin/sh -c value` when shell, else the argv. */
  shell: boolean;
  value?: string;
  argv?: string[];
  env: Record<string, string>;
  cpus: number;
  memMb: number;
  /** POSIX resource limits, as the engine's ulimits. */
  rlimits?: Rlimit[];
  /** The host ports the task was given; on a bridge network each is published as the same container port. */
  ports?: number[];
  /** GPU indices the task was given (the engine's NVIDIA device requests). */
  gpus?: number[];
  /** The user (name or uid[:gid], as the image knows it) the command runs as. */
  user?: string;
  /** The sandbox on the host. */
  sandbox: string;
  agentId: string;
  frameworkId: string;
  taskId: string;
  executorId: string;
  /** The agent's container id (the sandbox's last path element); the container's name is made from it. */
  containerId: string;
}

/** dockerCmd is the container's command: the shell command line under `/bin/sh -c`, or the argv. */
export function dockerCmd(spec: Pick<DockerTaskSpec, 'shell' | 'value' | 'argv'>): string[] {
  return spec.shell ? ['/bin/sh', '-c', spec.value ?? ''] : [...(spec.argv ?? [])];
}

/** dockerContainerName is `mezzo-<containerId>`: unique per run, and readable in `docker ps`. */
export function dockerContainerName(containerId: string): string {
  return `mezzo-${containerId}`;
}

/** dockerLabels are the labels that tie a container to its agent, framework and task. */
export function dockerLabels(
  spec: Pick<DockerTaskSpec, 'agentId' | 'frameworkId' | 'taskId' | 'executorId'>,
): Record<string, string> {
  return {
    [DockerLabel.AGENT]: spec.agentId,
    [DockerLabel.FRAMEWORK]: spec.frameworkId,
    [DockerLabel.TASK]: spec.taskId,
    [DockerLabel.EXECUTOR]: spec.executorId,
  };
}

/**
 * dockerCreateOptions maps a task to the engine's create-container request: the local image, the
 * command, the env, the sandbox bind-mounted at /mnt/mesos/sandbox and used as the working dir,
 * cpus as NanoCpus (a hard quota, 1 cpu = 1e9) and mem as a hard memory limit with no extra swap,
 * the task's rlimits as ulimits, its host ports published as the same container ports on a bridge
 * network, its GPUs as NVIDIA device requests,
 * an init as pid 1 (so SIGTERM reaches the task and zombies are reaped), and Mezzo's labels.
 */
export function dockerCreateOptions(spec: DockerTaskSpec): ContainerCreateOptions {
  const memory = Math.round(spec.memMb * 1024 * 1024);
  // On the host network the task binds its ports itself; with none there is nothing to publish.
  const published = spec.network === 'host' || spec.network === 'none' ? [] : (spec.ports ?? []);
  return {
    name: dockerContainerName(spec.containerId),
    Image: spec.image,
    Cmd: dockerCmd(spec),
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    WorkingDir: DOCKER_SANDBOX,
    ...(spec.user ? { User: spec.user } : {}),
    Labels: dockerLabels(spec),
    ...(published.length ? { ExposedPorts: Object.fromEntries(published.map((p) => [`${p}/tcp`, {}])) } : {}),
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    HostConfig: {
      Binds: [`${spec.sandbox}:${DOCKER_SANDBOX}`],
      ...(spec.cpus > 0 ? { NanoCpus: Math.round(spec.cpus * 1e9) } : {}),
      ...(memory > 0 ? { Memory: memory, MemorySwap: memory } : {}),
      ...(spec.network ? { NetworkMode: spec.network } : {}),
      ...(spec.rlimits?.length ? { Ulimits: dockerUlimits(spec.rlimits) } : {}),
      ...(published.length
        ? { PortBindings: Object.fromEntries(published.map((p) => [`${p}/tcp`, [{ HostPort: String(p) }]])) }
        : {}),
      ...(spec.gpus?.length
        ? {
            DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: spec.gpus.map(String), Capabilities: [['gpu']] }],
          }
        : {}),
      Init: true,
      AutoRemove: false,
    },
  };
}

/** DockerEnd is how a container ended, from its inspected State. */
export interface DockerEnd {
  exitCode: number | null;
  signal: string | null;
  oomKilled: boolean;
}

/** SIGNAL_NAMES are the signals a container's exit status 128+N is read as (docker-init passes them on). */
const SIGNAL_NAMES: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  15: 'SIGTERM',
};

/**
 * dockerEnd reads how a container ended. The engine gives only an exit status: a process killed by
 * signal N shows as 128 + N (as a shell shows it), which is reported as that signal only when the
 * executor asked for the kill (otherwise a task's own `exit 137` would read as a kill).
 */
export function dockerEnd(
  state: { ExitCode?: number; OOMKilled?: boolean },
  killRequested: boolean,
): DockerEnd {
  const code = typeof state.ExitCode === 'number' ? state.ExitCode : null;
  const oomKilled = state.OOMKilled === true;
  const sig = code !== null && code > 128 ? SIGNAL_NAMES[code - 128] : undefined;
  if (sig && (killRequested || (oomKilled && sig === 'SIGKILL')))
    return { exitCode: null, signal: sig, oomKilled };
  return { exitCode: code, signal: null, oomKilled };
}

/** missingImageMessage is the reason a task whose image is not on the agent fails with. */
export function missingImageMessage(image: string): string {
  return `image ${image} is not present on this agent (Mezzo never pulls; load or build it on the agent first)`;
}

/** NO_DOCKER_MESSAGE starts the reason a DOCKER task fails with on an agent whose engine does not answer. */
export const NO_DOCKER_MESSAGE = 'docker is not available on this agent';
