import { Reason, Source, type TaskInfo, TaskState, type TaskStatus } from '../../protocol/index.js';

/**
 * The master holds hundreds of thousands of task records, and every string a decoded message
 * carries is a fresh copy: the same `TASK_RUNNING`, `SOURCE_EXECUTOR`, `cpus` and agent id again
 * for every task (about 11 strings and 35 % of the heap per running task, measured). The functions
 * here point a task's repeated strings at one shared copy, in place, on the master's own parsed
 * objects: the values stay equal, so nothing else can tell, and a full collection has less to mark.
 */

const SHARED = new Map<string, string>();
for (const vocabulary of [TaskState, Source, Reason])
  for (const v of Object.values(vocabulary)) SHARED.set(v, v);
for (const name of ['cpus', 'mem', 'disk', 'gpus', 'ports']) SHARED.set(name, name);

/** shared returns the master's own copy of a vocabulary string (a state, a resource name), else `s`. */
export function shared<T extends string>(s: T): T {
  return (SHARED.get(s) as T | undefined) ?? s;
}

/**
 * shareStatusStrings points a status's vocabulary at the shared copies, and its task and agent
 * ids at the record's (`taskId`, `agentId`) when they are equal.
 */
export function shareStatusStrings(status: TaskStatus, taskId: string, agentId: string): void {
  status.state = shared(status.state);
  status.source = shared(status.source);
  if (status.reason !== undefined) status.reason = shared(status.reason);
  if (status.taskId === taskId) status.taskId = taskId;
  if (status.agentId === agentId) status.agentId = agentId;
}

/** shareInfoStrings points a task's agent id at `agentId` when equal, and its resource names at the shared copies. */
export function shareInfoStrings(info: TaskInfo, agentId: string): void {
  if (info.agentId === agentId) info.agentId = agentId;
  // Resources already shared (shared-parts.ts) are frozen, and their names already the shared copies.
  if (!Object.isFrozen(info.resources)) for (const r of info.resources) r.name = shared(r.name);
}
