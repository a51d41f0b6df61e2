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
import type { MasterConfig } from './types.js';

/** AgentRecord is the master's view of one agent. */
export interface AgentRecord {
  info: AgentInfo;
  status: AgentStatus;
  /** Marked gone by an operator: final, the id may never register again. */
  gone?: boolean;
  registeredAt: number;
  lastSeenAt: number;
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
  status: FrameworkStatus;
  subscribedAt: number;
  lastSeenAt: number;
  disconnectedAt?: number;
  nextHeartbeatAt: number;
  suppressedRoles: Set<string>;
  used: Resources;
  offered: Resources;
  /** Non-terminal tasks by task id. */
  tasks: Map<string, TaskRecord>;
  /** Terminal tasks, oldest first, bounded. */
  completed: TaskRecord[];
  offers: Set<string>;
}

/** TaskRecord is one task the master knows. */
export interface TaskRecord {
  frameworkId: string;
  agentId: string;
  info: TaskInfo;
  status: TaskStatus;
}

/** OfferRecord is an outstanding offer. */
export interface OfferRecord {
  offer: Offer;
  createdAt: number;
}

/** RefusalFilter keeps resources a framework refused from being offered to it again for a while. */
export interface RefusalFilter {
  frameworkId: string;
  role: string;
  agentId: string;
  resources: Resources;
  expiresAt: number;
}

/** MasterState is everything a leading master holds in memory (rebuilt from agents and frameworks). */
export interface MasterState {
  config: MasterConfig;
  startedAt: number;
  agents: Map<string, AgentRecord>;
  frameworks: Map<string, FrameworkRecord>;
  offers: Map<string, OfferRecord>;
  filters: RefusalFilter[];
  offerSeq: number;
}

/** createMasterState makes an empty state. */
export function createMasterState(config: MasterConfig, now: number): MasterState {
  return {
    config,
    startedAt: now,
    agents: new Map(),
    frameworks: new Map(),
    offers: new Map(),
    filters: [],
    offerSeq: 0,
  };
}

/** taskKey names a task across frameworks. */
export function taskKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}/${taskId}`;
}
