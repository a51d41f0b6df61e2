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

/** stateView is the whole GET_STATE answer. */
export function stateView(state: MasterState): StateView {
  const frameworks = [...state.frameworks.values()];
  return {
    masterId: state.config.masterId,
    version: MEZZO_VERSION,
    startedAt: state.startedAt,
    agents: [...state.agents.values()].map(agentView),
    frameworks: frameworks.map((f) => frameworkView(f, state.allocator.suppressedRoles(f.info.id))),
    tasks: frameworks.flatMap(tasksOf),
  };
}
