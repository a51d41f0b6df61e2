import { AgentStatus, type OperatorCall } from '../../protocol/index.js';
import { MasterError } from './effects.js';
import type { MasterState } from './state.js';

type GetContainers = Extract<OperatorCall, { type: 'GET_CONTAINERS' }>;

/** ContainerTargets are the agents a GET_CONTAINERS is relayed to, and those that cannot answer. */
export interface ContainerTargets {
  ask: string[];
  /** Known agents that are not active (unreachable): reported as unanswered without asking. */
  skip: string[];
}

/**
 * containerTargets decides which agents the master asks for their containers: the one named, or
 * every active agent. Usage lives on the agents (Mesos asks each agent too); the master keeps none.
 */
export function containerTargets(state: MasterState, call: GetContainers): ContainerTargets {
  if (call.agentId !== undefined) {
    const agent = state.agents.get(call.agentId);
    if (!agent || agent.gone || agent.status === AgentStatus.REMOVED)
      throw new MasterError('NOT_FOUND', `agent ${call.agentId} is unknown`);
    return agent.status === AgentStatus.ACTIVE
      ? { ask: [agent.info.id], skip: [] }
      : { ask: [], skip: [agent.info.id] };
  }
  const ask: string[] = [];
  const skip: string[] = [];
  for (const agent of state.agents.values()) {
    if (agent.gone || agent.status === AgentStatus.REMOVED) continue;
    (agent.status === AgentStatus.ACTIVE ? ask : skip).push(agent.info.id);
  }
  return { ask, skip };
}
