import { dirname, join } from 'node:path';
import {
  type CgroupWrite,
  cpuWrites,
  devicesWrites,
  keyValues,
  memBytes,
  memWrites,
  oomKills,
  pidsWrites,
} from './cgroup-limits.js';
import { type HostFs, sleep } from './effects.js';
import { agentCgroup, type CgroupController, type CgroupHierarchies, containerCgroup } from './hierarchy.js';
import {
  type ContainerLimits,
  IsolationError,
  type Isolator,
  IsolatorName,
  type LaunchPlan,
  type Limitation,
  LimitationKind,
  type ResourceUsage,
} from './types.js';

/** How long cleanup keeps killing a cgroup's processes before it gives up on removing it. */
const DRAIN_MS = 3000;
/** USER_HZ: the clock ticks per second of cpuacct.stat. */
const USER_HZ = 100;

/** CgroupIsolatorOptions are what every cgroup isolator shares. */
export interface CgroupIsolatorOptions {
  fs: HostFs;
  hierarchies: CgroupHierarchies;
  agentId: string;
}

/** Subsystem is what distinguishes the cpu, mem and pids isolators. */
interface Subsystem {
  name: IsolatorName;
  /** The first is the one whose limits are written; the rest are only joined (cpuacct). */
  controllers: CgroupController[];
  writes(version: 'v1' | 'v2', limits: ContainerLimits): CgroupWrite[];
  usage(
    read: (c: CgroupController, file: string) => string | undefined,
    version: 'v1' | 'v2',
  ): Partial<ResourceUsage>;
  limitation?(
    read: (c: CgroupController, file: string) => string | undefined,
    version: 'v1' | 'v2',
  ): Limitation | undefined;
}

/**
 * CgroupIsolator keeps one cgroup per container in each hierarchy of its controllers, at
 * `<hierarchy>/mezzo/<agentId>/<containerId>`. On v2 the controllers are one directory that the
 * cpu, mem and pids isolators share; removing it is idempotent, so each may try.
 */
export class CgroupIsolator implements Isolator {
  readonly name: IsolatorName;

  constructor(
    private readonly opts: CgroupIsolatorOptions,
    private readonly sub: Subsystem,
  ) {
    this.name = sub.name;
  }

  private get version() {
    return this.opts.hierarchies.version;
  }

  private dirOf(c: CgroupController, containerId: string): string {
    return containerCgroup(this.opts.hierarchies, c, this.opts.agentId, containerId);
  }

  /** dirs are the container's distinct cgroup directories for this isolator's controllers. */
  private dirs(containerId: string): string[] {
    return [...new Set(this.sub.controllers.map((c) => this.dirOf(c, containerId)))];
  }

  private read(containerId: string) {
    return (c: CgroupController, file: string): string | undefined => {
      try {
        return this.opts.fs.read(join(this.dirOf(c, containerId), file));
      } catch {
        return undefined;
      }
    };
  }

  /** enableV2 turns the controller on for the children of the root, mezzo/ and mezzo/<agentId>/. */
  private enableV2(containerId: string): void {
    const h = this.opts.hierarchies;
    if (h.version !== 'v2') return;
    const agentDir = dirname(this.dirOf(this.sub.controllers[0], containerId));
    const controller = this.sub.controllers[0];
    for (const dir of [h.mount, dirname(agentDir), agentDir]) {
      this.opts.fs.mkdirp(dir);
      try {
        this.opts.fs.write(join(dir, 'cgroup.subtree_control'), `+${controller}`);
      } catch (err) {
        throw new IsolationError(`could not enable the ${controller} controller under ${dir}`, {
          cause: err,
        });
      }
    }
  }

  prepare(containerId: string, limits: ContainerLimits): void {
    this.enableV2(containerId);
    for (const dir of this.dirs(containerId)) this.opts.fs.mkdirp(dir);
    for (const w of this.sub.writes(this.version, limits)) {
      const path = join(this.dirOf(w.controller, containerId), w.file);
      try {
        this.opts.fs.write(path, w.value);
      } catch (err) {
        throw new IsolationError(`could not write ${w.value} to ${path}`, { cause: err });
      }
    }
  }

  procsFiles(containerId: string): string[] {
    return this.dirs(containerId).map((d) => join(d, 'cgroup.procs'));
  }

  wrap(_containerId: string, plan: LaunchPlan): LaunchPlan {
    return plan;
  }

  isolate(containerId: string, pid: number): void {
    for (const f of this.procsFiles(containerId)) this.opts.fs.write(f, String(pid));
  }

  update(containerId: string, limits: ContainerLimits): void {
    this.prepare(containerId, limits);
  }

  usage(containerId: string): Partial<ResourceUsage> {
    return this.sub.usage(this.read(containerId), this.version);
  }

  limitation(containerId: string): Limitation | undefined {
    return this.sub.limitation?.(this.read(containerId), this.version);
  }

  async cleanup(containerId: string): Promise<void> {
    for (const dir of this.dirs(containerId)) await this.destroy(dir);
  }

  async recover(known: ReadonlySet<string>): Promise<string[]> {
    const orphans = new Set<string>();
    for (const c of this.sub.controllers) {
      const parent = agentCgroup(this.opts.hierarchies, c, this.opts.agentId);
      for (const id of this.opts.fs.subdirs(parent)) if (!known.has(id)) orphans.add(id);
    }
    for (const id of orphans) await this.cleanup(id);
    return [...orphans];
  }

  /** destroy SIGKILLs whatever is left in a cgroup until it is empty, then removes it. */
  private async destroy(dir: string): Promise<void> {
    const { fs } = this.opts;
    if (!fs.exists(dir)) return;
    const deadline = fs.now() + DRAIN_MS;
    for (;;) {
      let pids: number[] = [];
      try {
        pids = fs
          .read(join(dir, 'cgroup.procs'))
          .split('\n')
          .map(Number)
          .filter((p) => Number.isInteger(p) && p > 1 && p !== process.pid);
      } catch {
        pids = [];
      }
      if (pids.length === 0 || fs.now() >= deadline) break;
      for (const pid of pids) fs.kill(pid, 'SIGKILL');
      await sleep(20);
    }
    try {
      fs.rmdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new IsolationError(`could not remove cgroup ${dir}`, { cause: err });
    }
  }
}

/** firstLine reads a number, `max` and `-1` read as undefined. */
function num(text: string | undefined): number | undefined {
  const v = text?.trim().split(/\s+/)[0];
  if (v === undefined || v === '' || v === 'max') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** cgroupsCpu is cgroups/cpu: shares or weight, an optional CFS quota, and cpu time from cpuacct. */
export function cgroupsCpu(opts: CgroupIsolatorOptions): CgroupIsolator {
  return new CgroupIsolator(opts, {
    name: IsolatorName.CGROUPS_CPU,
    controllers: opts.hierarchies.version === 'v1' ? ['cpu', 'cpuacct'] : ['cpu'],
    writes: cpuWrites,
    usage(read, version) {
      if (version === 'v1') {
        const acct = keyValues(read('cpuacct', 'cpuacct.stat') ?? '');
        const stat = keyValues(read('cpu', 'cpu.stat') ?? '');
        const quota = num(read('cpu', 'cpu.cfs_quota_us'));
        const period = num(read('cpu', 'cpu.cfs_period_us'));
        const shares = num(read('cpu', 'cpu.shares'));
        return {
          cpusUserTimeSecs: acct.user !== undefined ? acct.user / USER_HZ : undefined,
          cpusSystemTimeSecs: acct.system !== undefined ? acct.system / USER_HZ : undefined,
          cpusNrThrottled: stat.nr_throttled,
          cpusLimit: quota && period ? quota / period : shares !== undefined ? shares / 1024 : undefined,
        };
      }
      const stat = keyValues(read('cpu', 'cpu.stat') ?? '');
      const [quota, period] = (read('cpu', 'cpu.max') ?? '').trim().split(/\s+/);
      return {
        cpusUserTimeSecs: stat.user_usec !== undefined ? stat.user_usec / 1e6 : undefined,
        cpusSystemTimeSecs: stat.system_usec !== undefined ? stat.system_usec / 1e6 : undefined,
        cpusNrThrottled: stat.nr_throttled,
        cpusLimit: quota && quota !== 'max' && period ? Number(quota) / Number(period) : undefined,
      };
    },
  });
}

/** cgroupsMem is cgroups/mem: a hard limit, rss, and the OOM kills that make a limitation. */
export function cgroupsMem(opts: CgroupIsolatorOptions): CgroupIsolator {
  return new CgroupIsolator(opts, {
    name: IsolatorName.CGROUPS_MEM,
    controllers: ['memory'],
    writes: memWrites,
    usage(read, version) {
      const stat = keyValues(read('memory', 'memory.stat') ?? '');
      return version === 'v1'
        ? {
            memRssBytes: stat.total_rss ?? stat.rss,
            memLimitBytes: num(read('memory', 'memory.limit_in_bytes')),
          }
        : { memRssBytes: stat.anon, memLimitBytes: num(read('memory', 'memory.max')) };
    },
    limitation(read, version) {
      const file = version === 'v1' ? 'memory.oom_control' : 'memory.events';
      const kills = oomKills(version, read('memory', file) ?? '');
      if (kills === 0) return undefined;
      const limit = num(read('memory', version === 'v1' ? 'memory.limit_in_bytes' : 'memory.max'));
      const peak = num(read('memory', version === 'v1' ? 'memory.max_usage_in_bytes' : 'memory.peak'));
      const mb = (b: number | undefined) => (b === undefined ? '?' : `${Math.round(b / memBytes(1))}MB`);
      return {
        kind: LimitationKind.MEMORY,
        message: `Memory limit exceeded: Requested: ${mb(limit)} Maximum Used: ${mb(peak)}; the kernel OOM-killed a process of the task`,
      };
    },
  });
}

/**
 * cgroupsDevices is cgroups/devices (v1): the container is denied the devices it was not given,
 * which today are the agent's GPUs that went to other tasks (Mesos's gpu/nvidia isolation).
 */
export function cgroupsDevices(opts: CgroupIsolatorOptions): CgroupIsolator {
  return new CgroupIsolator(opts, {
    name: IsolatorName.CGROUPS_DEVICES,
    controllers: ['devices'],
    writes: devicesWrites,
    usage: () => ({}),
  });
}

/** cgroupsPids is cgroups/pids: a cap on the container's processes, and their count. */
export function cgroupsPids(opts: CgroupIsolatorOptions): CgroupIsolator {
  return new CgroupIsolator(opts, {
    name: IsolatorName.CGROUPS_PIDS,
    controllers: ['pids'],
    writes: pidsWrites,
    usage: (read) => ({ processes: num(read('pids', 'pids.current')) }),
  });
}
