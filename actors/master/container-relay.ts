import type { Bus, Logger } from '../../bus/index.js';
import {
  AgentOperatorCall,
  AgentOperatorResult,
  type ContainersView,
  type Subjects,
} from '../../protocol/index.js';
import type { ContainerTargets } from './containers.js';

/** RELAY_TIMEOUT_MS is how long the master waits for each agent's containers. */
export const RELAY_TIMEOUT_MS = 2000;

/**
 * gatherContainers asks each target agent for its containers at once and merges the answers;
 * an agent that does not answer in time (or refuses) is listed as unanswered, never an error, so
 * one slow agent cannot hide the rest of the cluster.
 */
export async function gatherContainers(
  bus: Bus,
  subjects: Subjects,
  targets: ContainerTargets,
  frameworkId: string | undefined,
  log: Logger,
  timeoutMs = RELAY_TIMEOUT_MS,
): Promise<ContainersView> {
  const call =
    frameworkId === undefined
      ? { type: 'GET_CONTAINERS' as const }
      : { type: 'GET_CONTAINERS' as const, frameworkId };
  const answers = await Promise.all(
    targets.ask.map(async (agentId) => {
      try {
        const view = await bus.request(
          subjects.agentOperator(agentId),
          AgentOperatorCall,
          call,
          AgentOperatorResult.GET_CONTAINERS,
          { timeoutMs },
        );
        return { agentId, view };
      } catch (err) {
        log.debug({ err, agentId }, 'an agent did not answer GET_CONTAINERS');
        return { agentId, view: undefined };
      }
    }),
  );
  const view: ContainersView = { containers: [], unanswered: [...targets.skip] };
  for (const a of answers) {
    if (a.view) view.containers.push(...a.view.containers.filter((c) => c.agentId === a.agentId));
    else view.unanswered.push(a.agentId);
  }
  view.containers.sort((x, y) => x.agentId.localeCompare(y.agentId) || x.taskId.localeCompare(y.taskId));
  return view;
}
