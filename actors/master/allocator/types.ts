import type { Resources } from '../../../protocol/index.js';

/** Allocation is one offer to make: resources of one agent for one framework in one role. */
export interface Allocation {
  frameworkId: string;
  role: string;
  agentId: string;
  /** Frozen and possibly shared with later allocations: treat as read-only. */
  resources: Resources;
}

/** Holding is what a framework holds in one role on one agent, such as a running task's resources. */
export interface Holding {
  frameworkId: string;
  role: string;
  resources: Resources;
}

/** FrameworkSpec is what the allocator needs to know of a framework. */
export interface FrameworkSpec {
  /** Roles it subscribes to; each offer is for one of them. */
  roles: readonly string[];
  /** Its capabilities; GPU_RESOURCES lets it be offered agents that have gpus. */
  capabilities?: readonly string[];
  /** Roles it has suppressed (kept across a re-subscription). */
  suppressedRoles?: Iterable<string>;
  /** Connected frameworks are active; inactive ones keep their allocations but get no offers. */
  active?: boolean;
}

/** Quota bounds a top-level role (its whole subtree) on scalar resources. */
export interface Quota {
  /** Satisfied before fair sharing; headroom for it is held back from other roles. */
  guarantee?: Resources;
  /** What the role may hold at most, offered and used together. */
  limit?: Resources;
}

/** RefusalFilter keeps refused resources of one agent from one framework in one role until expiresAt. */
export interface RefusalFilter {
  frameworkId: string;
  role: string;
  agentId: string;
  resources: Resources;
  /** Absolute time (ms, the caller's clock); Infinity for a filter that never expires. */
  expiresAt: number;
}

/** AllocatorOptions tune an allocator; every field has a default. */
export interface AllocatorOptions {
  /** Seed of the agent visiting order (mulberry32); default 1. */
  seed?: number;
  /** A generator in [0, 1) for the visiting order; overrides seed. */
  random?: () => number;
  /** `random` (default, like Mesos) or `added`, the order agents were added in (for tests). */
  agentOrder?: 'random' | 'added';
  /** Resource names left out of dominant shares; default `['gpus']`. */
  fairSharingExcluded?: readonly string[];
  /** An offer must hold one of these scalar sets; default `cpus:0.01|mem:32`. */
  minAllocatable?: readonly Resources[];
  /**
   * A monotonic clock in ms (such as `performance.now`) used only to time allocation runs for the
   * metrics. Without it cycle times are not recorded. It never influences a decision.
   */
  timer?: () => number;
}

/** AgentAllocations is what the allocator tracks on one agent, for operators, metrics and tests. */
export interface AgentAllocations {
  agentId: string;
  total: Resources;
  /** total minus offered minus used. */
  available: Resources;
  offered: Holding[];
  used: Holding[];
}
