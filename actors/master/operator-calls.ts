import { FrameworkStatus, MEZZO_VERSION, type OperatorCall, PROTOCOL_VERSION } from '../../protocol/index.js';
import { markAgentGone } from './agent-messages.js';
import {
  changeReservation,
  getQuota,
  getRoles,
  getWeights,
  updateQuota,
  updateWeights,
} from './allocation-calls.js';
import { removeFramework } from './bookkeeping.js';
import { containerTargets } from './containers.js';
import { MasterError, type Outcome } from './effects.js';
import { metricsView } from './metrics.js';
import { kill } from './scheduler-calls.js';
import type { FrameworkRecord, MasterState } from './state.js';
import { pageBytesFor } from './task-table-page-cap.js';
import { agentView, frameworkView, stateAnswer, tasksPage } from './views.js';

/** handleOperatorCall answers an operator call; reads change nothing. */
export function handleOperatorCall(state: MasterState, call: OperatorCall, now: number): Outcome<unknown> {
  const read = (result: unknown): Outcome<unknown> => ({ result, effects: [] });
  switch (call.type) {
    case 'GET_HEALTH':
      return read({
        healthy: true,
        leading: true,
        masterId: state.config.masterId,
        // An elected master (HA) also says its term and how long it has led.
        ...(state.leader?.ha
          ? { epoch: state.leader.epoch, leadingForMs: Math.max(0, now - state.leader.electedAt) }
          : {}),
      });
    case 'GET_MASTER':
      return read({
        masterId: state.config.masterId,
        epoch: state.leader?.epoch ?? 0,
        electedAt: state.leader?.electedAt ?? state.startedAt,
        leadingForMs: Math.max(0, now - (state.leader?.electedAt ?? state.startedAt)),
        ha: state.leader?.ha ?? false,
        recoveringAgents: state.recovering?.size ?? 0,
      });
    case 'GET_VERSION':
      return read({ version: MEZZO_VERSION, protocol: PROTOCOL_VERSION });
    case 'GET_STATE':
      return read(stateAnswer(state, call));
    case 'GET_AGENTS':
      return read({ agents: [...state.agents.values()].map(agentView) });
    case 'GET_FRAMEWORKS':
      return read({
        frameworks: [...state.frameworks.values()].map((f) =>
          frameworkView(f, state.allocator.suppressedRoles(f.info.id)),
        ),
      });
    case 'GET_TASKS': {
      if (call.frameworkId && !state.frameworks.has(call.frameworkId)) {
        throw new MasterError('NOT_FOUND', `framework ${call.frameworkId} is unknown`);
      }
      const fws = call.frameworkId
        ? [state.frameworks.get(call.frameworkId) as FrameworkRecord]
        : [...state.frameworks.values()];
      return read(tasksPage(fws, call, pageBytesFor(state.maxMessageBytes)));
    }
    case 'KILL_TASK': {
      const owners = [...state.frameworks.values()].filter(
        (f) => (!call.frameworkId || f.info.id === call.frameworkId) && f.tasks.has(call.taskId),
      );
      if (owners.length === 0) throw new MasterError('NOT_FOUND', `no active task ${call.taskId}`);
      if (owners.length > 1) {
        throw new MasterError('CONFLICT', `task id ${call.taskId} is used by several frameworks; name one`);
      }
      const fw = owners[0];
      const agentId = fw.tasks.get(call.taskId)?.agentId as string;
      return { result: { frameworkId: fw.info.id, agentId }, effects: kill(fw, call.taskId, now) };
    }
    case 'TEARDOWN': {
      const fw = state.frameworks.get(call.frameworkId);
      if (!fw || fw.status === FrameworkStatus.REMOVED) {
        throw new MasterError('NOT_FOUND', `no active framework ${call.frameworkId}`);
      }
      const effects = removeFramework(state, fw, now, 'torn down by an operator');
      effects.push({
        kind: 'framework',
        frameworkId: fw.info.id,
        event: { type: 'ERROR', message: 'framework was torn down by an operator' },
      });
      return { result: { frameworkId: fw.info.id }, effects };
    }
    case 'MARK_AGENT_GONE': {
      const agent = state.agents.get(call.agentId);
      if (!agent) throw new MasterError('NOT_FOUND', `agent ${call.agentId} is unknown`);
      if (agent.gone) throw new MasterError('CONFLICT', `agent ${call.agentId} is already marked gone`);
      return { result: { agentId: call.agentId }, effects: markAgentGone(state, agent, now) };
    }
    case 'GET_METRICS':
      return read(metricsView(state, now));
    case 'GET_CONTAINERS':
      // The runtime relays to these agents and answers with what they say (container-relay.ts).
      return read(containerTargets(state, call));
    case 'GET_ROLES':
      return read(getRoles(state, now));
    case 'GET_WEIGHTS':
      return read(getWeights(state));
    case 'UPDATE_WEIGHTS':
      return updateWeights(state, call);
    case 'GET_QUOTA':
      return read(getQuota(state));
    case 'UPDATE_QUOTA':
      return updateQuota(state, call);
    case 'RESERVE_RESOURCES':
    case 'UNRESERVE_RESOURCES':
      return changeReservation(state, call);
  }
}
