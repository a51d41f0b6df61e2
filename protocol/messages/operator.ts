import { z } from 'zod';
import { Id, RoleName } from '../ids.js';
import { Limits } from '../limits.js';
import { Resources } from '../resources.js';
import { ReasonSchema, TaskStateSchema } from '../task-state.js';
import { AgentTable } from './agent-table.js';
import { CapabilitySchema } from './common.js';
import { ContainersView } from './containers.js';
import { TaskTable } from './task-table.js';

export * from './agent-table.js';
export * from './task-table.js';

/**
 * TasksAs chooses how GET_STATE and GET_TASKS answer with tasks (and GET_STATE with agents, as
 * `agentsAs`): `objects` (the default) as TaskView objects in `tasks`, `table` as one columnar
 * TaskTable in `taskTable` (and `tasks` empty).
 */
export const TasksAs = z.enum(['objects', 'table']);
export type TasksAs = z.infer<typeof TasksAs>;

/** RoleWeight is one role's weight in weighted DRF: its share counts as allocation / weight. */
export const RoleWeight = z.object({
  role: RoleName,
  weight: z
    .number()
    .finite('a weight must be a finite number above zero')
    .positive('a weight must be a finite number above zero')
    .max(1e6),
});
export type RoleWeight = z.infer<typeof RoleWeight>;

/**
 * RoleQuota is a top-level role's quota as resource lists of unreserved scalars (`cpus`, `mem`...):
 * `guarantee` is set aside for the role first, `limit` caps what it holds, offered and used.
 */
export const RoleQuota = z.object({ role: RoleName, guarantee: Resources, limit: Resources });
export type RoleQuota = z.infer<typeof RoleQuota>;

/** OperatorCall is the operator -> master edge, a request on `operator()`. */
export const OperatorCall = z.discriminatedUnion('type', [
  z.object({ type: z.literal('GET_HEALTH') }),
  z.object({ type: z.literal('GET_MASTER') }),
  z.object({ type: z.literal('GET_VERSION') }),
  /**
   * The whole state; with `maxTasks`, one page of its tasks (from `tasksFrom`, default 0): a large
   * cluster's tasks do not fit in one message. The answer's `nextTasksFrom` names the next page;
   * agents and frameworks come with the first page only. `tasksAs: 'table'` answers with a
   * TaskTable; a table page may hold fewer than `maxTasks` tasks, to stay within a message.
   * `agentsAs: 'table'` answers the agents as one AgentTable in `agentTable` (and `agents` empty);
   * with `maxAgents` (and `agentsFrom`, default 0) too, every page's `agentTable` holds a page of
   * the agents, whatever page of tasks it comes with, and `nextAgentsFrom` names the next.
   */
  z.object({
    type: z.literal('GET_STATE'),
    tasksFrom: z.number().int().nonnegative().optional(),
    maxTasks: z.number().int().min(1).max(Limits.maxStateTasksPerPage).optional(),
    tasksAs: TasksAs.optional(),
    agentsAs: TasksAs.optional(),
    agentsFrom: z.number().int().nonnegative().optional(),
    maxAgents: z.number().int().min(1).max(Limits.maxStateTasksPerPage).optional(),
  }),
  z.object({ type: z.literal('GET_AGENTS') }),
  z.object({ type: z.literal('GET_FRAMEWORKS') }),
  /** Tasks of one framework or all; paged and shaped like GET_STATE's tasks. */
  z.object({
    type: z.literal('GET_TASKS'),
    frameworkId: Id.optional(),
    tasksFrom: z.number().int().nonnegative().optional(),
    maxTasks: z.number().int().min(1).max(Limits.maxStateTasksPerPage).optional(),
    tasksAs: TasksAs.optional(),
  }),
  z.object({ type: z.literal('KILL_TASK'), taskId: Id, frameworkId: Id.optional() }),
  z.object({ type: z.literal('TEARDOWN'), frameworkId: Id }),
  z.object({ type: z.literal('MARK_AGENT_GONE'), agentId: Id }),
  z.object({ type: z.literal('GET_METRICS') }),
  z.object({ type: z.literal('GET_CONTAINERS'), agentId: Id.optional(), frameworkId: Id.optional() }),
  z.object({ type: z.literal('GET_ROLES') }),
  z.object({ type: z.literal('GET_WEIGHTS') }),
  /** Sets the named roles' weights (others keep theirs; default 1). */
  z.object({ type: z.literal('UPDATE_WEIGHTS'), weights: z.array(RoleWeight).min(1).max(1024) }),
  z.object({ type: z.literal('GET_QUOTA') }),
  /** Sets a top-level role's quota; with neither guarantee nor limit (or both empty) removes it. */
  z.object({
    type: z.literal('UPDATE_QUOTA'),
    role: RoleName,
    guarantee: Resources.optional(),
    limit: Resources.optional(),
  }),
  /** Reserves unreserved, unused resources of an agent; each resource names its role. */
  z.object({ type: z.literal('RESERVE_RESOURCES'), agentId: Id, resources: Resources.min(1) }),
  /** Gives reserved, unused resources of an agent back to `*`; each names the role it is reserved for. */
  z.object({ type: z.literal('UNRESERVE_RESOURCES'), agentId: Id, resources: Resources.min(1) }),
]);
export type OperatorCall = z.infer<typeof OperatorCall>;

/**
 * isReadOperatorCall tells the calls that change nothing (`GET_*`) from the writes. A read-only
 * operator may send only reads: they go on `operatorRead(principal)`, writes on `operatorWrite`.
 */
export function isReadOperatorCall(type: OperatorCall['type']): boolean {
  return type.startsWith('GET_');
}

/** AgentStatus is where an agent stands with the master. */
export const AgentStatus = { ACTIVE: 'ACTIVE', UNREACHABLE: 'UNREACHABLE', REMOVED: 'REMOVED' } as const;
export type AgentStatus = (typeof AgentStatus)[keyof typeof AgentStatus];

/** AgentView is an agent as operators see it. */
export const AgentView = z.object({
  id: Id,
  hostname: z.string(),
  status: z.enum(['ACTIVE', 'UNREACHABLE', 'REMOVED']),
  attributes: z.record(z.string(), z.string()),
  total: Resources,
  used: Resources,
  offered: Resources,
  registeredAt: z.number(),
  lastSeenAt: z.number(),
  version: z.string(),
  tasks: z.number().int(),
});
export type AgentView = z.infer<typeof AgentView>;

/** FrameworkStatus is where a framework stands with the master. */
export const FrameworkStatus = {
  CONNECTED: 'CONNECTED',
  DISCONNECTED: 'DISCONNECTED',
  REMOVED: 'REMOVED',
} as const;
export type FrameworkStatus = (typeof FrameworkStatus)[keyof typeof FrameworkStatus];

/** FrameworkView is a framework as operators see it. */
export const FrameworkView = z.object({
  id: Id,
  name: z.string(),
  user: z.string(),
  principal: z.string().optional(),
  roles: z.array(RoleName),
  capabilities: z.array(CapabilitySchema),
  status: z.enum(['CONNECTED', 'DISCONNECTED', 'REMOVED']),
  suppressedRoles: z.array(RoleName),
  failoverTimeoutSeconds: z.number(),
  subscribedAt: z.number(),
  used: Resources,
  offered: Resources,
  tasks: z.number().int(),
});
export type FrameworkView = z.infer<typeof FrameworkView>;

/** TaskView is a task as operators see it; it never carries the task's environment. */
export const TaskView = z.object({
  taskId: Id,
  frameworkId: Id,
  agentId: Id,
  /** The role of the offers it was launched on (its allocation role). */
  role: RoleName.optional(),
  name: z.string(),
  state: TaskStateSchema,
  reason: ReasonSchema.optional(),
  message: z.string().optional(),
  exitCode: z.number().int().optional(),
  /** The latest health check verdict, when the task has a health check and it has run. */
  healthy: z.boolean().optional(),
  resources: Resources,
  command: z.string(),
  updatedAt: z.number(),
});
export type TaskView = z.infer<typeof TaskView>;

/** Health, Version and StateView are the results of GET_HEALTH, GET_VERSION and GET_STATE. */
export const Health = z.object({
  healthy: z.boolean(),
  leading: z.boolean(),
  masterId: z.string(),
  /** The leader's term (HA; 0 for a master that runs without election). */
  epoch: z.number().int().nonnegative().optional(),
  /** How long this master has led (ms). */
  leadingForMs: z.number().nonnegative().optional(),
});
/** MasterInfo is GET_MASTER: who leads, in which term, since when, and how far its recovery is. */
export const MasterInfo = z.object({
  masterId: z.string(),
  epoch: z.number().int().nonnegative(),
  /** When this master began leading (ms since the epoch). */
  electedAt: z.number(),
  leadingForMs: z.number().nonnegative(),
  /** Elected through the lease (HA) rather than running alone. */
  ha: z.boolean(),
  /** Agents known from the registry that have not re-registered since the failover. */
  recoveringAgents: z.number().int().nonnegative(),
});
export type MasterInfo = z.infer<typeof MasterInfo>;
export const Version = z.object({ version: z.string(), protocol: z.string() });
export const StateView = z.object({
  masterId: z.string(),
  version: z.string(),
  startedAt: z.number(),
  agents: z.array(AgentView),
  frameworks: z.array(FrameworkView),
  tasks: z.array(TaskView),
  /** With `agentsAs: 'table'` (first page only, or a page of them): the agents as columns, readable as AgentRows. */
  agentTable: AgentTable.optional(),
  /** With agents paged (`maxAgents`): every agent's count, and where the next page of them starts. */
  totalAgents: z.number().int().nonnegative().optional(),
  nextAgentsFrom: z.number().int().nonnegative().optional(),
  /** With `tasksAs: 'table'`: the (page's) tasks as columns, validated and readable as TaskRows. */
  taskTable: TaskTable.optional(),
  /** With a paged GET_STATE: every task's count, and where the next page starts (absent on the last). */
  totalTasks: z.number().int().nonnegative().optional(),
  nextTasksFrom: z.number().int().nonnegative().optional(),
});
export type StateView = z.infer<typeof StateView>;

/** TasksView is GET_TASKS's result: tasks as objects or a table, paged like GET_STATE's. */
export const TasksView = z.object({
  tasks: z.array(TaskView),
  taskTable: TaskTable.optional(),
  totalTasks: z.number().int().nonnegative().optional(),
  nextTasksFrom: z.number().int().nonnegative().optional(),
});
export type TasksView = z.infer<typeof TasksView>;

/**
 * RoleView is one role as operators see it (GET_ROLES): its weight, quota, what its frameworks
 * hold (used by tasks) and are offered, its dominant share of the cluster (its whole subtree,
 * gpus excluded) and that share divided by its weight, which DRF orders roles by.
 */
export const RoleView = z.object({
  role: RoleName,
  weight: z.number(),
  quota: z.object({ guarantee: Resources, limit: Resources }).optional(),
  allocated: Resources,
  offered: Resources,
  dominantShare: z.number(),
  weightedShare: z.number(),
  frameworks: z.array(Id),
});
export type RoleView = z.infer<typeof RoleView>;

/** Metrics is GET_METRICS: flat, Mesos-named gauges and counters (`master/agents_active`...). */
export const Metrics = z.object({ metrics: z.record(z.string(), z.number()) });
export type Metrics = z.infer<typeof Metrics>;

const Weights = z.object({ weights: z.array(RoleWeight) });
const Quotas = z.object({ quotas: z.array(RoleQuota) });
const AgentTotal = z.object({ agentId: Id, total: Resources });

/** OperatorResult maps each call type to the schema of its result. */
export const OperatorResult = {
  GET_HEALTH: Health,
  GET_MASTER: MasterInfo,
  GET_VERSION: Version,
  GET_STATE: StateView,
  GET_AGENTS: z.object({ agents: z.array(AgentView) }),
  GET_FRAMEWORKS: z.object({ frameworks: z.array(FrameworkView) }),
  GET_TASKS: TasksView,
  KILL_TASK: z.object({ frameworkId: Id, agentId: Id }),
  TEARDOWN: z.object({ frameworkId: Id }),
  MARK_AGENT_GONE: z.object({ agentId: Id }),
  GET_METRICS: Metrics,
  GET_CONTAINERS: ContainersView,
  GET_ROLES: z.object({ roles: z.array(RoleView) }),
  GET_WEIGHTS: Weights,
  UPDATE_WEIGHTS: Weights,
  GET_QUOTA: Quotas,
  UPDATE_QUOTA: Quotas,
  RESERVE_RESOURCES: AgentTotal,
  UNRESERVE_RESOURCES: AgentTotal,
} as const satisfies Record<OperatorCall['type'], z.ZodType>;
export type OperatorResult<T extends OperatorCall['type']> = z.infer<(typeof OperatorResult)[T]>;
