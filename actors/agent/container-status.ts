import type { ContainerStatus, ResourceStatistics } from '../../protocol/index.js';
import type { AgentContext } from './agent-state.js';

/** UsageOf measures one live container: its id, its task's process group, and whether Docker runs it. */
export type UsageOf = (
  containerId: string,
  taskPid: number | undefined,
  docker: boolean,
) => ResourceStatistics | Promise<ResourceStatistics>;

/**
 * containerStatuses lists the agent's live containers (executor still running) with what each
 * has used, optionally of one framework only: the answer to GET_CONTAINERS.
 */
export async function containerStatuses(
  ctx: AgentContext,
  usageOf: UsageOf,
  frameworkId?: string,
): Promise<ContainerStatus[]> {
  const out: Promise<ContainerStatus>[] = [];
  for (const rec of Object.values(ctx.tasks)) {
    if (rec.executorExited) continue;
    if (frameworkId !== undefined && rec.frameworkId !== frameworkId) continue;
    const docker = rec.task.container?.type === 'DOCKER';
    out.push(
      Promise.resolve(usageOf(rec.containerId, rec.taskPid, docker)).then((statistics) => ({
        agentId: ctx.agentId,
        frameworkId: rec.frameworkId,
        executorId: rec.executorId,
        taskId: rec.task.taskId,
        containerId: rec.containerId,
        containerizer: docker ? 'docker' : 'mesos',
        statistics,
      })),
    );
  }
  return (await Promise.all(out)).sort((a, b) => a.taskId.localeCompare(b.taskId));
}
