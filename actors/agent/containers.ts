import { basename } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from '../../bus/index.js';
import {
  assignGpus,
  type Containerizer,
  chooseIsolation,
  createContainerizer,
  DEFAULT_DOCKER_SOCKET,
  dockerClient,
  dockerContainerName,
  formatChoice,
  type Gpu,
  type HostCapabilities,
  type IsolationChoice,
  type IsolationSettings,
  NO_DOCKER_MESSAGE,
  probeDocker,
  probeHost,
  type ResourceUsage,
  readDockerUsage,
  removeAgentCgroups,
  removeDockerContainer,
  removeDockerContainers,
} from '../../isolation/index.js';
import { resources as R } from '../../protocol/index.js';
import type { ExecutorLaunch } from './effects.js';
import type { LaunchEvent } from './executor-launcher.js';

/** AgentContainersOptions are the agent's isolation flags and what it found on the host. */
export interface AgentContainersOptions {
  agentId: string;
  log: Logger;
  /** The `isolation` flag; undefined picks the host's defaults. */
  isolation?: readonly string[];
  enableCfs: boolean;
  pidsMax?: number;
  /** GPU indices the agent offers (detected, or 0..n-1 when `gpus` is given in resources). */
  gpus: readonly number[];
  /** The probe, swappable so a test can play a host without privileges. */
  probe?: (agentId: string) => HostCapabilities;
  /** The Docker engine's socket (default /var/run/docker.sock). */
  dockerSocket?: string;
  /** The Docker probe, swappable so a test can play an agent without Docker. */
  probeDocker?: (socketPath: string) => Promise<true | string>;
}

/** A launch made ready for isolation, or the reason it cannot be. */
export type Prepared = { ok: true; launch: ExecutorLaunch } | { ok: false; message: string };

/**
 * AgentContainers is the agent's side of isolation: it probes the host once and picks the
 * isolators, gives each launch its container settings and GPUs (task.json carries them to the
 * executor, which creates the container around its task), and backs the executor up: when an
 * executor is gone, its container is removed and its GPUs are free again; at start, containers a
 * crashed agent left are removed; at stop, the agent's own cgroups are.
 */
export class AgentContainers {
  readonly caps: HostCapabilities;
  readonly choice: IsolationChoice;
  private readonly containerizer: Containerizer;
  /** Per executor key: its container id, its GPUs, and whether it runs in a Docker container. */
  private readonly live = new Map<string, { containerId: string; gpus: number[]; docker: boolean }>();
  /** true when the Docker engine answered at start, else why not (until `detectDocker`, not probed). */
  docker: true | string = 'not probed';
  private dockerApi?: Docker;

  constructor(private readonly opts: AgentContainersOptions) {
    this.caps = (opts.probe ?? probeHost)(opts.agentId);
    this.choice = chooseIsolation(opts.isolation, this.caps);
    this.containerizer = createContainerizer({
      agentId: opts.agentId,
      isolators: this.choice.on,
      cgroups: this.caps.cgroups,
    });
  }

  /** dockerSocket is where the agent talks to the Docker engine. */
  get dockerSocket(): string {
    return this.opts.dockerSocket ?? DEFAULT_DOCKER_SOCKET;
  }

  /** detectDocker pings the Docker engine once at start: DOCKER tasks run only if it answered. */
  async detectDocker(): Promise<void> {
    this.docker = await (this.opts.probeDocker ?? probeDocker)(this.dockerSocket);
    if (this.docker === true) this.dockerApi = dockerClient(this.dockerSocket);
  }

  /** containerizers names the containerizers on: `mesos` always, `docker` when the engine answered. */
  containerizers(): string[] {
    return this.docker === true ? ['mesos', 'docker'] : ['mesos'];
  }

  /** describe is the line the agent logs at start. */
  describe(): string {
    const docker = this.docker === true ? 'docker on' : `docker off (${this.docker})`;
    return `${formatChoice(this.choice)}; ${docker}`;
  }

  /**
   * adopt takes back the container of an executor that an earlier run of the agent started and
   * that still runs (a checkpointed task): `recover` keeps it, and its GPUs stay taken.
   */
  adopt(key: string, containerId: string, gpus: number[], docker: boolean): void {
    this.live.set(key, { containerId, gpus, docker });
  }

  /**
   * recover removes every container under `mezzo/<agentId>`, and every Docker container labelled
   * with this agent's id, except those adopted (their executors run on: checkpointed tasks).
   */
  async recover(): Promise<string[]> {
    const removed = await this.containerizer.recover(
      new Set([...this.live.values()].map((l) => l.containerId)),
    );
    if (this.dockerApi) {
      const live = new Set([...this.live.values()].map((l) => dockerContainerName(l.containerId)));
      const gone = await removeDockerContainers(this.dockerApi, this.opts.agentId, (n) => live.has(n)).catch(
        (err) => {
          this.opts.log.error({ err }, 'could not list or remove docker containers a previous run left');
          return [];
        },
      );
      removed.push(...gone);
    }
    if (removed.length > 0)
      this.opts.log.warn({ containers: removed }, 'removed containers a previous run left');
    return removed;
  }

  /** prepare adds the container settings and GPUs to a launch, or says why the task cannot have them. */
  prepare(launch: ExecutorLaunch): Prepared {
    const docker = launch.file.task.container?.type === 'DOCKER';
    if (docker && this.docker !== true) return { ok: false, message: `${NO_DOCKER_MESSAGE}: ${this.docker}` };
    const want = R.scalar(launch.file.task.resources ?? [], 'gpus');
    const taken = new Set([...this.live.values()].flatMap((l) => l.gpus));
    const gpus = assignGpus(this.opts.gpus, taken, want);
    if (!gpus)
      return { ok: false, message: `${want} GPUs asked for, ${this.opts.gpus.length - taken.size} free` };
    const containerId = basename(launch.sandbox);
    const isolation: IsolationSettings = {
      agentId: this.opts.agentId,
      containerId,
      isolators: this.choice.on,
      cgroups: this.caps.cgroups,
      enableCfs: this.opts.enableCfs,
      pidsMax: this.opts.pidsMax,
      gpus: this.opts.gpus.length > 0 ? gpus : undefined,
      agentGpus: this.opts.gpus.length > 0 ? [...this.opts.gpus] : undefined,
      dockerSocket: docker ? this.dockerSocket : undefined,
    };
    this.live.set(launch.key, { containerId, gpus, docker });
    return { ok: true, launch: { ...launch, file: { ...launch.file, isolation } } };
  }

  /** observe frees an executor's GPUs and removes its container once the executor is gone. */
  observe(e: LaunchEvent): void {
    if (e.type === 'EXECUTOR_SPAWNED') return;
    const l = this.live.get(e.key);
    if (!l) return;
    this.live.delete(e.key);
    this.containerizer
      .cleanup(l.containerId)
      .catch((err) =>
        this.opts.log.error({ err, containerId: l.containerId }, 'could not remove a container'),
      );
    // An executor that died (SIGKILL) leaves its Docker container running: it goes with it.
    if (l.docker && this.dockerApi)
      removeDockerContainer(this.dockerApi, l.containerId).then(
        (removed) =>
          removed &&
          this.opts.log.warn({ containerId: l.containerId }, 'removed a docker container its executor left'),
        (err) =>
          this.opts.log.error({ err, containerId: l.containerId }, 'could not remove a docker container'),
      );
  }

  /** usage is one container's resource statistics; `pid` is its task's process group. */
  usage(containerId: string, pid: number | undefined, now: number): ResourceUsage {
    return this.containerizer.usage(containerId, pid, now);
  }

  /** dockerUsage is a Docker container's statistics, from the engine (just a timestamp without one). */
  dockerUsage(containerId: string, now: number): Promise<ResourceUsage> {
    if (!this.dockerApi) return Promise.resolve({ timestamp: now / 1000 });
    return readDockerUsage(this.dockerApi, containerId, now);
  }

  /** shutdown removes whatever containers are left, then the agent's own cgroups. */
  async shutdown(): Promise<void> {
    for (const [key, l] of this.live) {
      this.live.delete(key);
      await this.containerizer.cleanup(l.containerId).catch(() => {});
    }
    await this.containerizer.recover(new Set()).catch(() => []);
    if (this.dockerApi) await removeDockerContainers(this.dockerApi, this.opts.agentId).catch(() => []);
    removeAgentCgroups(this.opts.agentId, this.caps);
  }
}

/** gpuIndices are the GPUs an agent offers: the detected ones, cut or padded to the `gpus` it advertises. */
export function gpuIndices(detected: readonly Gpu[], advertised: number): number[] {
  const n = Math.max(0, Math.floor(advertised));
  const found = detected.map((g) => g.index);
  const out = found.slice(0, n);
  for (let i = 0; out.length < n; i++) if (!out.includes(i)) out.push(i);
  return out.sort((a, b) => a - b);
}
