import type { AgentInfo, FrameworkInfo, RunningTask } from '../../protocol/index.js';
import type { AgentContext } from './agent-state.js';

/** RegistrationRequest is the body of REGISTER: who the agent is and what it runs. */
export interface RegistrationRequest {
  agent: AgentInfo;
  tasks: RunningTask[];
  frameworks: FrameworkInfo[];
}

/**
 * registrationRequest reports the agent and every task it holds, each with its latest status, plus
 * those tasks' frameworks, so that a master (a new one after a failover) can rebuild its view.
 */
export function registrationRequest(s: AgentContext): RegistrationRequest {
  const records = Object.values(s.tasks);
  const frameworkIds = new Set(records.map((r) => r.frameworkId));
  return {
    agent: s.info,
    tasks: records.map((r) => ({ frameworkId: r.frameworkId, task: r.task, status: r.status })),
    frameworks: [...frameworkIds].flatMap((id) => (s.frameworks[id] ? [s.frameworks[id]] : [])),
  };
}
