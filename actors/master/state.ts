import type {
  AgentInfo,
  AgentStatus,
  FrameworkInfo,
  FrameworkStatus,
  Offer,
  Resources,
  TaskInfo,
  TaskStatus,
} from '../../protocol/index.js';
import type { FollowedAgents } from './agent-follower.js';
import { type AllocatorOptions, HierarchicalAllocator } from './allocator/index.js';
import type { TaskMap } from './task-map.js';
import type { MasterConfig } from './types.js';

/** AgentRecord is the master's view of one agent. */
export interface AgentRecord {
  info: AgentInfo;
  status: AgentStatus;
  /** Marked gone by an operator: final, the id may never register again. */
  gone?: boolean;
  registeredAt: number;
  lastSeenAt: number;
  /** The agent's resources with the dynamic reservations operators and frameworks made on it. */
  total: Resources;
  /** Resources held by non-terminal tasks. */
  used: Resources;
  /** Resources in outstanding offers. */
  offered: Resources;
  /** Keys (`frameworkId/taskId`) of non-terminal tasks on this agent. */
  tasks: Set<string>;
  offers: Set<string>;
}

/** FrameworkRecord is the master's view of one framework. */
export interface FrameworkRecord {
  info: FrameworkInfo;
  /** The scheduler instance that subscribed last (SUBSCRIBE's session). */
  session?: string;
  status: FrameworkStatus;
  subscribedAt: number;
  lastSeenAt: number;
  disconnectedAt?: number;
  nextHeartbeatAt: number;
  used: Resources;
  offered: Resources;
  /** Non-terminal tasks by task id (a Map that GET_STATE pages through cheaply: task-map.ts). */
  tasks: TaskMap;
  /** Terminal tasks, oldest first, bounded. */
  completed: TaskRecord[];
  /**
   * Terminal tasks whose terminal update (with a uuid) is not yet acknowledged, by task id. They
   * stay here until the ACKNOWLEDGE, however many tasks complete meanwhile, as in Mesos.
   */
  unacknowledged?: Map<string, TaskRecord>;
  offers: Set<string>;
}

/** TaskRecord is one task the master knows. */
export interface TaskRecord {
  frameworkId: string;
  agentId: string;
  /** The role of the offers it was launched on: the allocator charges it to that role. */
  role: string;
  info: TaskInfo;
  status: TaskStatus;
  /** The latest health check verdict, kept through later updates that carry none (TASK_KILLING). */
  healthy?: boolean;
  /**
   * uuids of the latest agent updates seen, so an ACKNOWLEDGE can be checked against them: one
   * uuid as itself (most tasks: no array per task), several as a list (bookkeeping.ts).
   */
  recentUuids?: string | string[];
}

/** OfferRecord is an outstanding offer. */
export interface OfferRecord {
  offer: Offer;
  createdAt: number;
}

/**
 * MasterState is everything a leading master holds in memory (rebuilt from agents and frameworks).
 * Its records are plain data, except `allocator`: the allocator's incremental index of the same
 * cluster (what is offered and used where, by framework and role, plus weights, quota, refusal
 * filters and suppressed roles). The handlers keep the two in step through bookkeeping.ts; the
 * allocator is the only record of filters, suppression, weights and quota.
 */
export interface MasterState {
  config: MasterConfig;
  startedAt: number;
  agents: Map<string, AgentRecord>;
  frameworks: Map<string, FrameworkRecord>;
  offers: Map<string, OfferRecord>;
  offerSeq: number;
  allocator: HierarchicalAllocator;
  /**
   * After a failover: agents known from the registry that have not re-registered yet. Their
   * records read UNREACHABLE; reconciliation gives no answer for their tasks until they return.
   */
  recovering?: Set<string>;
  /**
   * After a failover, until recovery ends: what this master's follower copied of each agent's
   * non-terminal tasks while it stood by (agent-follower.ts). An agent whose REGISTER carries a
   * matching tasksDigest gets its tasks from here; a copy is used once, then dropped.
   */
  followed?: FollowedAgents;
  /** The term this master leads in (HA: the lease's epoch; 0 when it runs without election). */
  leader?: { epoch: number; electedAt: number; ha: boolean };
  /** The largest message the server accepts (its max_payload), when known: table pages fit it. */
  maxMessageBytes?: number;
  /** REGISTERs this master took, by kind (GET_METRICS `master/agent_*`). */
  registrations: RegistrationCounts;
}

/** RegistrationCounts counts agent REGISTERs as Mesos counts slave (re-)registrations. */
export interface RegistrationCounts {
  /** An agent this master did not know. */
  registered: number;
  /** An agent it knew (from the registry after a failover, or back from unreachable). */
  reregistered: number;
  /** Of those, the ones whose running tasks came from a followed copy (tasksDigest matched). */
  byDigest: number;
  /** REGISTERs with a digest no copy matched (answered DIGEST_MISMATCH). */
  digestMismatches: number;
}

/**
 * createMasterState makes an empty state. The allocator options carry the runtime's seed (or
 * random source) for the agent visiting order and a timer for the run-time metrics.
 */
export function createMasterState(
  config: MasterConfig,
  now: number,
  allocator: AllocatorOptions = {},
): MasterState {
  return {
    config,
    startedAt: now,
    agents: new Map(),
    frameworks: new Map(),
    offers: new Map(),
    offerSeq: 0,
    allocator: new HierarchicalAllocator(allocator),
    registrations: { registered: 0, reregistered: 0, byDigest: 0, digestMismatches: 0 },
  };
}

/** taskKey names a task across frameworks. */
export function taskKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}/${taskId}`;
}
