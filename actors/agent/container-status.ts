import type { ContainerStatus, ResourceStatistics } from '../../protocol/index.js';
import type { AgentContext } from './agent-state.js';

/** UsageOf measures one live container: its id and its task's process group. */
export type UsageOf = (containerId: string, taskPid: number | undefined) => ResourceStatistics;

/**
 * containerStatuses lists the agent's live containers (executor still running) with what each
 * has used, optionally of one framework only: the answer to GET_CONTAINERS.
 */
export function containerStatuses(ctx: AgentContext, usageOf: UsageOf, frameworkId?: string): ContainerStatus[] {
  const out: ContainerStatus[] = [];
  for (const rec of Object.values(ctx.tasks)) {
    if (rec.executorExited) continue;
    if (frameworkId !== undefined && rec.frameworkId !== frameworkId) continue;
    out.push({
      agentId: ctx.agentId,
      frameworkId: rec.frameworkId,
      executorId: rec.executorId,
      taskId: rec.task.taskId,
      containerId: rec.containerId,
      containerizer: rec.task.container?.type === 'DOCKER' ? 'docker' : 'mesos',
      statistics: usageOf(rec.containerId, rec.taskPid),
    });
  }
  return out.sort((a, b) => a.taskId.localeCompare(b.taskId));
}
