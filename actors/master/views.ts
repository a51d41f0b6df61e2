import {
  type AgentView,
  type FrameworkView,
  MEZZO_VERSION,
  type StateView,
  type TaskView,
} from '../../protocol/index.js';
import type { AgentRecord, FrameworkRecord, MasterState, TaskRecord } from './state.js';

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
  const c = t.info.command;
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
    command: c.shell ? (c.value ?? '') : (c.argv ?? []).join(' '),
    updatedAt: t.status.timestamp,
  };
}

/** tasksOf lists a framework's tasks, terminal ones first (oldest first), then active ones. */
export function tasksOf(f: FrameworkRecord): TaskView[] {
  return [...f.completed, ...f.tasks.values()].map(taskView);
}

/**
 * stateView is the GET_STATE answer: everything, or with `page` the tasks from `page.from` (in
 * the order of the whole answer) up to `page.max` of them, and where the next page starts. Agents
 * and frameworks come with the first page only (`from` 0): later pages are tasks.
 */
export function stateView(state: MasterState, page?: { from: number; max: number }): StateView {
  const frameworks = [...state.frameworks.values()];
  const first = !page || page.from === 0;
  const head = {
    masterId: state.config.masterId,
    version: MEZZO_VERSION,
    startedAt: state.startedAt,
    agents: first ? [...state.agents.values()].map(agentView) : [],
    frameworks: first
      ? frameworks.map((f) => frameworkView(f, state.allocator.suppressedRoles(f.info.id)))
      : [],
  };
  if (!page) return { ...head, tasks: frameworks.flatMap(tasksOf) };
  const total = frameworks.reduce((n, f) => n + f.completed.length + f.tasks.size, 0);
  const end = Math.min(total, page.from + page.max);
  const tasks: TaskView[] = [];
  let at = 0;
  for (const f of frameworks) {
    const size = f.completed.length + f.tasks.size;
    // Only the frameworks the page reaches into are turned into views.
    if (at + size > page.from && at < end) {
      for (const t of [...f.completed, ...f.tasks.values()]) {
        if (at >= page.from && at < end) tasks.push(taskView(t));
        at++;
      }
    } else at += size;
    if (at >= end) break;
  }
  return { ...head, tasks, totalTasks: total, ...(end < total ? { nextTasksFrom: end } : {}) };
}
