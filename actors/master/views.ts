import {
  type AgentTableWire,
  type AgentView,
  type FrameworkView,
  MEZZO_VERSION,
  type StateView,
  type TasksAs,
  type TaskTableWire,
  type TaskView,
} from '../../protocol/index.js';
import { MasterError } from './effects.js';
import type { AgentRecord, FrameworkRecord, MasterState, TaskRecord } from './state.js';
import { commandText, forEachTask, taskTablePage } from './task-table.js';
import { agentTablePage } from './task-table-agents.js';
import { pageBytesFor, TASK_TABLE_PAGE_BYTES } from './task-table-page-cap.js';

/** agentView is an agent as operators see it. */
export function agentView(a: AgentRecord): AgentView {
  return {
    id: a.info.id,
    hostname: a.info.hostname,
    status: a.status,
    attributes: a.info.attributes,
    total: a.total,
    used: a.used,
    offered: a.offered,
    registeredAt: a.registeredAt,
    lastSeenAt: a.lastSeenAt,
    version: a.info.version,
    tasks: a.tasks.size,
  };
}

/** frameworkView is a framework as operators see it; the allocator knows which roles it suppressed. */
export function frameworkView(f: FrameworkRecord, suppressedRoles: string[]): FrameworkView {
  return {
    id: f.info.id,
    name: f.info.name,
    user: f.info.user,
    principal: f.info.principal,
    roles: f.info.roles,
    capabilities: f.info.capabilities,
    status: f.status,
    suppressedRoles,
    failoverTimeoutSeconds: f.info.failoverTimeoutSeconds,
    subscribedAt: f.subscribedAt,
    used: f.used,
    offered: f.offered,
    tasks: f.tasks.size,
  };
}

/** taskView is a task as operators see it; the environment never leaves the master. */
export function taskView(t: TaskRecord): TaskView {
  return {
    taskId: t.info.taskId,
    frameworkId: t.frameworkId,
    agentId: t.agentId,
    role: t.role,
    name: t.info.name,
    state: t.status.state,
    reason: t.status.reason,
    message: t.status.message,
    exitCode: t.status.exitCode,
    healthy: t.healthy ?? t.status.healthy,
    resources: t.info.resources,
    command: commandText(t),
    updatedAt: t.status.timestamp,
  };
}

/** tasksOf lists a framework's tasks, terminal ones first (oldest first), then active ones. */
export function tasksOf(f: FrameworkRecord): TaskView[] {
  const out: TaskView[] = [];
  for (const t of f.completed) out.push(taskView(t));
  for (const t of f.tasks.values()) out.push(taskView(t));
  return out;
}

/** TasksPage is a page of tasks as objects or as a table, with the paging fields of the answer. */
export type TasksPage = Pick<StateView, 'totalTasks' | 'nextTasksFrom'> & {
  tasks: TaskView[];
  taskTable?: TaskTableWire;
};

/** PageRequest is what a paged or table GET_STATE / GET_TASKS asks for. */
export interface PageRequest {
  tasksFrom?: number;
  maxTasks?: number;
  tasksAs?: TasksAs;
  /** GET_STATE only: the agents as an AgentTable. */
  agentsAs?: TasksAs;
  /**
   * GET_STATE with `agentsAs: 'table'` only: this page's agent table holds the agents from
   * `agentsFrom` (default 0), at most `maxAgents` of them, whatever page of tasks it comes with.
   */
  agentsFrom?: number;
  maxAgents?: number;
}

/**
 * tasksPage answers for the tasks of `frameworks`: all as objects (no paging, no table asked),
 * or the page from `tasksFrom` of at most `maxTasks` tasks as objects or a table. A table page
 * also stops at about `maxBytes` (pageBytesFor the server's max_payload), so that it fits in one message.
 */
export function tasksPage(
  frameworks: readonly FrameworkRecord[],
  req: PageRequest,
  maxBytes = TASK_TABLE_PAGE_BYTES,
): TasksPage {
  if (req.tasksAs !== 'table') return objectsPage(frameworks, req);
  const page = taskTablePage(frameworks, req.tasksFrom ?? 0, {
    maxRows: req.maxTasks ?? Number.MAX_SAFE_INTEGER,
    maxBytes,
  });
  return {
    tasks: [],
    taskTable: page.table,
    totalTasks: page.totalTasks,
    ...(page.nextTasksFrom !== undefined ? { nextTasksFrom: page.nextTasksFrom } : {}),
  };
}

/** objectsPage is tasksPage as TaskView objects: all of them, or one page. */
export function objectsPage(
  frameworks: readonly FrameworkRecord[],
  req: PageRequest,
): Pick<StateView, 'tasks' | 'totalTasks' | 'nextTasksFrom'> {
  if (req.maxTasks === undefined && req.tasksFrom === undefined)
    return { tasks: frameworks.flatMap(tasksOf) };
  const from = req.tasksFrom ?? 0;
  const max = req.maxTasks ?? Number.MAX_SAFE_INTEGER;
  const total = frameworks.reduce((n, f) => n + f.completed.length + f.tasks.size, 0);
  const tasks: TaskView[] = [];
  // More to come when the page filled before the tasks ran out (see taskTablePage).
  const more = forEachTask(frameworks, from, (t) => tasks.push(taskView(t)) < max) === false;
  const end = from + tasks.length;
  return { tasks, totalTasks: total, ...(more ? { nextTasksFrom: end } : {}) };
}

export { TASK_TABLE_PAGE_BYTES } from './task-table-page-cap.js';

/** StateAnswer is GET_STATE's answer as the master sends it (a table travels as its wire form). */
export type StateAnswer = Omit<StateView, 'tasks' | 'taskTable' | 'agentTable'> &
  TasksPage & { agentTable?: AgentTableWire; totalAgents?: number; nextAgentsFrom?: number };

/**
 * stateView is the GET_STATE answer as TaskView objects: everything, or with `page` the tasks
 * from `page.from` (in the order of the whole answer) up to `page.max` of them, and where the next
 * page starts. Agents and frameworks come with the first page only (`from` 0): later pages are tasks.
 */
export function stateView(state: MasterState, page?: { from: number; max: number }): StateView {
  const frameworks = [...state.frameworks.values()];
  return {
    ...stateHead(state, frameworks, !page || page.from === 0),
    ...objectsPage(frameworks, page ? { tasksFrom: page.from, maxTasks: page.max } : {}),
  };
}

/**
 * stateAnswer is the GET_STATE answer for a request, with its tasks as tasksPage shapes them.
 * Agents as a table come whole with the first page, or, when the request pages them
 * (`agentsFrom`, `maxAgents`), a page of them with every page that asks: 40,000 agents in one
 * table held the master about 100 ms on a loaded machine, where a page of tasks holds it 10-20.
 */
export function stateAnswer(state: MasterState, req: PageRequest): StateAnswer {
  const frameworks = [...state.frameworks.values()];
  const first = (req.tasksFrom ?? 0) === 0;
  const pageBytes = pageBytesFor(state.maxMessageBytes);
  const pagedAgents = req.agentsFrom !== undefined || req.maxAgents !== undefined;
  if (pagedAgents && req.agentsAs !== 'table') {
    throw new MasterError(
      'BAD_REQUEST',
      "agentsFrom and maxAgents page an agent table: ask for agentsAs 'table'",
    );
  }
  if (req.agentsAs !== 'table' || (!first && !pagedAgents))
    return { ...stateHead(state, frameworks, first), ...tasksPage(frameworks, req, pageBytes) };
  const agents = agentTablePage(state.agents, req.agentsFrom ?? 0, {
    maxRows: req.maxAgents ?? Number.MAX_SAFE_INTEGER,
    // Unpaged, the table is whole, as before paging; paged, it leaves at least half the page to tasks.
    maxBytes: pagedAgents ? pageBytes / 2 : Number.MAX_SAFE_INTEGER,
  });
  // The tasks leave room for the agents.
  const taskBytes = Math.max(pageBytes / 16, pageBytes - agents.bytes);
  return {
    ...stateHead(state, frameworks, first, false),
    agentTable: agents.table,
    ...(pagedAgents
      ? {
          totalAgents: agents.totalAgents,
          ...(agents.nextAgentsFrom !== undefined ? { nextAgentsFrom: agents.nextAgentsFrom } : {}),
        }
      : {}),
    ...tasksPage(frameworks, req, taskBytes),
  };
}

/** stateHead is the GET_STATE answer besides tasks: agents and frameworks with the first page only. */
function stateHead(
  state: MasterState,
  frameworks: readonly FrameworkRecord[],
  first: boolean,
  agents = first,
) {
  return {
    masterId: state.config.masterId,
    version: MEZZO_VERSION,
    startedAt: state.startedAt,
    agents: agents ? [...state.agents.values()].map(agentView) : [],
    frameworks: first
      ? frameworks.map((f) => frameworkView(f, state.allocator.suppressedRoles(f.info.id)))
      : [],
  };
}
