import type { Bus, Logger } from '../../bus/index.js';
import type { HostCapabilities, ResourceUsage } from '../../isolation/index.js';
import type { Subjects } from '../../protocol/index.js';
import type { Clock } from '../common/index.js';
import type { RecoverMode } from './recovery.js';

/** AgentConfig tunes one agent; only workDir and natsUrl are required. */
export interface AgentConfig {
  /** Sandboxes and meta live here. */
  workDir: string;
  /** Mesos `--resources` syntax; each named resource replaces the detected one (`cpus:2;mem:4096;ports:[31000-32000]`). */
  resources?: string;
  /** `rack:a;zone:west` */
  attributes?: string;
  /** Default: os.hostname(). */
  hostname?: string;
  /** Handed to executor processes, which connect on their own. */
  natsUrl: string | string[];
  /** Default: [node, dist/actors/executor/main.js]. */
  executorCommand?: string[];
  /** First resend interval of an unacknowledged status update (ms; default 2000, doubling, capped at 60000). */
  statusUpdateRetryMs?: number;
  /** Registration backoff (default 1000 / 60000 ms). */
  registrationBackoff?: { baseMs: number; capMs: number };
  /** Grace between SIGTERM and SIGKILL when neither the kill nor the task names one (default 3). */
  defaultKillGracePeriodSeconds?: number;
  /**
   * Isolators, Mesos-style (`posix`, `cgroups/cpu`, `cgroups/mem`, `cgroups/pids`,
   * `namespaces/pid`, `filesystem/tmp`). Default: every one the host supports except the opt-in
   * namespaces/pid. posix is always on.
   */
  isolation?: string[];
  /** Enforce each task's cpus as a hard CFS quota too (Mesos `--cgroups_enable_cfs`; default false). */
  cgroupsEnableCfs?: boolean;
  /** pids.max of each task's cgroup under cgroups/pids (default 4096). */
  cgroupsPidsMax?: number;
  /** Where to look for nvidia-smi (a PATH; default: the agent's PATH). */
  gpuSearchPath?: string;
  /** Plays the host probe (tests of a host without privileges). */
  probeHost?: (agentId: string) => HostCapabilities;
  /** The Docker engine's socket (default /var/run/docker.sock); DOCKER tasks run only if it answers at start. */
  dockerSocket?: string;
  /**
   * What to do with what the previous run left (Mesos `--recover`): `reconnect` (default) takes
   * back the live executors of checkpointing frameworks and kills the others; `cleanup` kills
   * every one and starts with no task.
   */
  recover?: RecoverMode;
  /**
   * How long (ms) an executor of a checkpointing framework waits for a restarting agent to
   * acknowledge its terminal update before it exits anyway (default 15 min).
   */
  recoveryTimeoutMs?: number;
  /**
   * How long (ms) an executor the agent took back after a restart has to REGISTER again before it
   * is killed and its task failed (default 10000; Mesos `--executor_reregistration_timeout`).
   */
  executorReregistrationTimeoutMs?: number;
  /** Plays the Docker probe (tests of an agent without Docker): true, or why not. */
  probeDocker?: (socketPath: string) => Promise<true | string>;
}

/** AgentOptions are what an agent needs from its process. */
export interface AgentOptions {
  bus: Bus;
  subjects: Subjects;
  log: Logger;
  clock?: Clock;
  config: AgentConfig;
}

/** AgentHandle is a running agent. */
export interface AgentHandle {
  readonly agentId: string;
  /** Resolves once the agent has first registered with a master; rejects if it stops before. */
  registered(): Promise<void>;
  /** The isolators on, and why each other one is off. */
  readonly isolation: { on: string[]; off: { name: string; why: string }[] };
  /** The containerizers on: `mesos` always, and `docker` when the engine answered at start. */
  readonly containerizers: string[];
  /**
   * usage is a live task's resource statistics (Mesos ResourceStatistics); undefined when the
   * agent holds no such task. With several frameworks' tasks of one id, name the framework.
   */
  usage(taskId: string, frameworkId?: string): ResourceUsage | undefined;
  /** Kills every task, waits for the executors, unregisters and unsubscribes; idempotent. */
  stop(): Promise<void>;
}
