import type { AgentInfo, FrameworkInfo, RunningTask } from '../../protocol/index.js';
import { type AgentContext, taskKey } from './agent-state.js';

/** RegistrationRequest is the body of REGISTER: who the agent is and what it runs. */
export interface RegistrationRequest {
  agent: AgentInfo;
  tasks: RunningTask[];
  frameworks: FrameworkInfo[];
}

/**
 * registrationRequest reports the agent and every task it holds, each with its latest status, then
 * the tasks it completed lately (terminal, acknowledged, forgotten), plus all those tasks'
 * frameworks, so that a master (a new one after a failover) can rebuild its view and answer
 * reconciliation with how those tasks ended.
 */
export function registrationRequest(s: AgentContext): RegistrationRequest {
  const records = Object.values(s.tasks);
  const frameworks = new Map<string, FrameworkInfo>();
  for (const r of records)
    if (s.frameworks[r.frameworkId]) frameworks.set(r.frameworkId, s.frameworks[r.frameworkId]);
  const tasks: RunningTask[] = records.map((r) => ({
    frameworkId: r.frameworkId,
    task: r.task,
    status: r.status,
  }));
  const held = new Set(Object.keys(s.tasks));
  const done = new Set<string>();
  // Newest first, so that of two runs of one task id the latest is told.
  for (const c of [...s.completed].reverse()) {
    const key = taskKey(c.framework.id, c.task.taskId);
    if (held.has(key) || done.has(key)) continue;
    done.add(key);
    tasks.push({ frameworkId: c.framework.id, task: c.task, status: c.status });
    if (!frameworks.has(c.framework.id)) frameworks.set(c.framework.id, c.framework);
  }
  return { agent: s.info, tasks, frameworks: [...frameworks.values()] };
}
