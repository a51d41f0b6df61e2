import type { Rlimit } from '../protocol/index.js';

/** IsolatorName is a Mesos-style isolator name, as given in the agent's `isolation` list. */
export const IsolatorName = {
  POSIX: 'posix',
  CGROUPS_CPU: 'cgroups/cpu',
  CGROUPS_MEM: 'cgroups/mem',
  CGROUPS_PIDS: 'cgroups/pids',
  CGROUPS_DEVICES: 'cgroups/devices',
  NAMESPACES_PID: 'namespaces/pid',
  FILESYSTEM_TMP: 'filesystem/tmp',
} as const;
export type IsolatorName = (typeof IsolatorName)[keyof typeof IsolatorName];

/** ALL_ISOLATORS lists every isolator in the order a containerizer runs them. */
export const ALL_ISOLATORS: readonly IsolatorName[] = Object.values(IsolatorName);

/** ContainerLimits are what a container may use: its task's cpus and mem, and a pids cap. */
export interface ContainerLimits {
  cpus: number;
  memMb: number;
  /** pids.max; undefined leaves it unlimited. */
  pidsMax?: number;
  /** Enforce cpus as a hard CFS quota as well as a relative share. */
  enableCfs: boolean;
  /** Device rules (`c 195:1 rwm`) the container may not use: the agent's GPUs it was not given. */
  deniedDevices?: string[];
  /** POSIX resource limits of the task's processes (set through prlimit by posix). */
  rlimits?: Rlimit[];
}

/**
 * ResourceUsage is what a container has used, in the spirit of Mesos's ResourceStatistics. Each
 * isolator fills the fields it knows; the cgroup ones win over the /proc estimates.
 */
export interface ResourceUsage {
  timestamp: number;
  cpusUserTimeSecs?: number;
  cpusSystemTimeSecs?: number;
  cpusLimit?: number;
  cpusNrThrottled?: number;
  memRssBytes?: number;
  memLimitBytes?: number;
  processes?: number;
}

/** LimitationKind names the limits a container can run into. */
export const LimitationKind = { MEMORY: 'memory' } as const;
export type LimitationKind = (typeof LimitationKind)[keyof typeof LimitationKind];

/** Limitation is a limit a container ran into (the kernel OOM-killed one of its processes). */
export interface Limitation {
  kind: LimitationKind;
  message: string;
}

/** LaunchPlan is how to start a container's first process: a wrapper argv in front, and extra env. */
export interface LaunchPlan {
  program: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * Isolator is one kind of isolation, as in Mesos: it prepares a container before its process
 * starts, isolates that process, updates limits, reports usage and limitations, and cleans up
 * after the process is gone. `recover` removes what a crashed agent left behind.
 */
export interface Isolator {
  readonly name: IsolatorName;
  /** Creates the container's cgroup (or whatever it keeps) and writes its limits. */
  prepare(containerId: string, limits: ContainerLimits): void;
  /** Files a launch wrapper writes its own pid into before it execs the task (race-free isolate). */
  procsFiles(containerId: string): string[];
  /** Wraps the command (namespaces, mounts) and adds environment. */
  wrap(containerId: string, plan: LaunchPlan, sandbox: string): LaunchPlan;
  /** Places a running pid into the container (for processes not started through the wrapper). */
  isolate(containerId: string, pid: number): void;
  /** Rewrites the limits of a running container. */
  update(containerId: string, limits: ContainerLimits): void;
  /** What the container has used; `pid` is its first process (its process group). */
  usage(containerId: string, pid?: number): Partial<ResourceUsage>;
  /** A limit the container ran into, if any. */
  limitation(containerId: string): Limitation | undefined;
  /** Kills what is left in the container and removes it; a container already gone is fine. */
  cleanup(containerId: string): Promise<void>;
  /** Removes every container this agent left that is not in `known`; returns their ids. */
  recover(known: ReadonlySet<string>): Promise<string[]>;
}

/** IsolationError is a failure to set up or tear down a container's isolation. */
export class IsolationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IsolationError';
  }
}
