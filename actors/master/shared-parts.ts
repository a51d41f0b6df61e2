import type { TaskInfo } from '../../protocol/index.js';
import { shareInfoStrings } from './shared-strings.js';

/**
 * The parts of a task that the tasks of one job have alike. A decoded message gives every task
 * its own copy of each (a resource vector is an array and an object per resource, a command an
 * object and its env another), so at 400,000 running tasks they were about half the objects a
 * full collection of the master's heap had to mark. Equal parts are shared instead: one frozen
 * copy for all the tasks that have it.
 */
const PARTS = [
  'resources',
  'command',
  'container',
  'killPolicy',
  'rlimits',
  'healthCheck',
  'labels',
] as const;
type Part = (typeof PARTS)[number];

/** Parts whose canonical form is longer stay the task's own (a large env is rarely repeated). */
export const MAX_SHARED_PART_CHARS = 2048;
/** Distinct parts remembered at most; the table then starts afresh (what is shared stays shared). */
export const MAX_SHARED_PARTS = 10_000;

const table = new Map<string, unknown>();

/** deepFreeze freezes a plain value and everything in it, so no task can change what others share. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * sharedPart returns the one shared copy of a task part equal to `value` (frozen), remembering
 * `value` itself as that copy when it is the first; a part too large to be worth it is returned as is.
 */
export function sharedPart<T>(part: Part, value: T): T {
  if (value === null || typeof value !== 'object') return value;
  const json = JSON.stringify(value);
  if (json.length > MAX_SHARED_PART_CHARS) return value;
  const key = `${part}\u0000${json}`;
  const known = table.get(key);
  if (known !== undefined) return known as T;
  if (table.size >= MAX_SHARED_PARTS) table.clear();
  table.set(key, deepFreeze(value));
  return value;
}

/**
 * shareTaskParts points a task's repeated strings at shared copies (shareInfoStrings), then its
 * resources, command and the other parts a job's tasks have alike at one frozen copy each. The
 * task's values stay equal; nothing in the master changes a task's parts in place (a change of
 * a task is a new object), and the freeze makes any code that tried fail loudly, not corrupt
 * other tasks.
 */
export function shareTaskParts(info: TaskInfo, agentId: string): void {
  shareInfoStrings(info, agentId);
  const parts = info as Record<Part, unknown>;
  for (const part of PARTS) {
    const value = parts[part];
    if (value !== undefined) parts[part] = sharedPart(part, value);
  }
}

/** sharedPartCount is how many distinct parts the table holds (for tests). */
export function sharedPartCount(): number {
  return table.size;
}
