import type { Bus, Logger } from '../../bus/index.js';
import type { StateView, Subjects } from '../../protocol/index.js';
import type { RateLimit } from '../../security/index.js';
import type { Clock } from '../common/index.js';
import type { MasterSecurity } from './authorization.js';

/** MasterConfig tunes the master; every field has a default (see defaultMasterConfig). */
export interface MasterConfig {
  masterId: string;
  /** How often the allocator runs (ms). */
  allocationIntervalMs: number;
  /**
   * Mesos's agent_ping_timeout (s, default 15): each agent must show it is alive once per this
   * period. Mesos's master pings and the agent pongs; here the agent sends a HEARTBEAT every
   * period (told it at registration), one message instead of two; a master that does not know the
   * agent answers it with REREGISTER, and a new leader announces itself to the agents.
   */
  agentPingTimeoutSeconds: number;
  /** Mesos's max_agent_ping_timeouts (default 5): periods without a sign of life before unreachable. */
  maxAgentPingTimeouts: number;
  /** How often frameworks and the master heartbeat each other (s). */
  frameworkHeartbeatIntervalSeconds: number;
  /** Unused offers are rescinded after this long (ms); 0 keeps them. */
  offerTimeoutMs: number;
  /** Terminal tasks kept per framework for operators to see. */
  maxCompletedTasksPerFramework: number;
}

/** MasterOptions are what a master needs from its process. */
export interface MasterOptions {
  bus: Bus;
  subjects: Subjects;
  log: Logger;
  clock?: Clock;
  config?: Partial<MasterConfig>;
  /** Who is behind each subject and what they may do; absent, every call is allowed (test clusters). */
  security?: MasterSecurity;
  /** Per-principal token bucket on framework and operator calls; absent, calls are not limited. */
  rateLimit?: RateLimit;
}

/** MasterHandle is a running master. */
export interface MasterHandle {
  readonly masterId: string;
  /** The operator's GET_STATE view, read in process. */
  state(): StateView;
  stop(): Promise<void>;
}
