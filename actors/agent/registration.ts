import {
  type AgentInfo,
  type FrameworkInfo,
  type RunningTask,
  type TaskDigest,
  withTasksDigest,
} from '../../protocol/index.js';
import { type AgentContext, taskKey } from './agent-state.js';

/** RegistrationRequest is the body of REGISTER: who the agent is and what it runs. */
export interface RegistrationRequest {
  agent: AgentInfo;
  tasks: RunningTask[];
  frameworks: FrameworkInfo[];
  tasksDigest?: TaskDigest;
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

/**
 * reregistrationRequest is what the agent sends when it registers again: to a master whose last
 * Registered listed TASK_DIGEST (its standbys follow the agents), the digest of the non-terminal
 * tasks it holds in place of them, the terminal and completed ones in full with their frameworks;
 * otherwise, or after the master answered DIGEST_MISMATCH, every task (registrationRequest).
 */
export function reregistrationRequest(s: AgentContext): RegistrationRequest {
  const full = registrationRequest(s);
  if (!s.masterTakesDigest || s.masterId === undefined || s.sendTasks) return full;
  return withTasksDigest(full);
}
