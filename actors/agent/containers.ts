import { basename } from 'node:path';
import type { Logger } from '../../bus/index.js';
import {
  assignGpus,
  type Containerizer,
  chooseIsolation,
  createContainerizer,
  formatChoice,
  type Gpu,
  type HostCapabilities,
  type IsolationChoice,
  type IsolationSettings,
  probeHost,
  type ResourceUsage,
  removeAgentCgroups,
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
  /** Per executor key: its container id and its GPUs. */
  private readonly live = new Map<string, { containerId: string; gpus: number[] }>();

  constructor(private readonly opts: AgentContainersOptions) {
    this.caps = (opts.probe ?? probeHost)(opts.agentId);
    this.choice = chooseIsolation(opts.isolation, this.caps);
    this.containerizer = createContainerizer({
      agentId: opts.agentId,
      isolators: this.choice.on,
      cgroups: this.caps.cgroups,
    });
  }

  /** describe is the line the agent logs at start. */
  describe(): string {
    return formatChoice(this.choice);
  }

  /** recover removes every container under `mezzo/<agentId>` (a starting agent owns none yet). */
  async recover(): Promise<string[]> {
    const removed = await this.containerizer.recover(
      new Set([...this.live.values()].map((l) => l.containerId)),
    );
    if (removed.length > 0)
      this.opts.log.warn({ containers: removed }, 'removed containers a previous run left');
    return removed;
  }

  /** prepare adds the container settings and GPUs to a launch, or says why the task cannot have them. */
  prepare(launch: ExecutorLaunch): Prepared {
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
    };
    this.live.set(launch.key, { containerId, gpus });
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
  }

  /** usage is one container's resource statistics; `pid` is its task's process group. */
  usage(containerId: string, pid: number | undefined, now: number): ResourceUsage {
    return this.containerizer.usage(containerId, pid, now);
  }

  /** shutdown removes whatever containers are left, then the agent's own cgroups. */
  async shutdown(): Promise<void> {
    for (const [key, l] of this.live) {
      this.live.delete(key);
      await this.containerizer.cleanup(l.containerId).catch(() => {});
    }
    await this.containerizer.recover(new Set()).catch(() => []);
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
