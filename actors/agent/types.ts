import type { Bus, Logger } from '../../bus/index.js';
import type { Subjects } from '../../protocol/index.js';
import type { Clock } from '../common/index.js';

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
  /** Kills every task, waits for the executors, unregisters and unsubscribes; idempotent. */
  stop(): Promise<void>;
}
