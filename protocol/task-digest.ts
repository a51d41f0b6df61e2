import { z } from 'zod';
import type { FrameworkInfo, TaskInfo, TaskStatus } from './messages/common.js';
import { isTerminal } from './task-state.js';

/**
 * A task digest summarizes the running tasks an agent holds, so that an agent coming back to a
 * new leader after a failover can say "I hold what you already know" in a few bytes instead of
 * sending every task again. A standby that followed the agents' REGISTERs and status updates
 * computes the same digest over its copy; when they agree, the new leader takes its copy (see
 * actors/master/agent-follower.ts) and the REGISTER carries only the tasks the digest leaves out
 * (terminal ones). Equal digests mean equal sets of (framework, task id, state, status uuid,
 * status time, task info): every field of a task that a REGISTER reports goes into its hash.
 */
export const TaskDigest = z.object({
  /** How many tasks the digest covers. */
  count: z.number().int().min(0).max(1_000_000),
  /** 64 bits as 16 lowercase hex digits: two 32-bit lanes, each the sum of the tasks' hashes. */
  hash: z.string().regex(/^[0-9a-f]{16}$/, 'a task digest hash is 16 lowercase hex digits'),
});
export type TaskDigest = z.infer<typeof TaskDigest>;

/** DigestedTask is what a digest reads of one task: as REGISTER reports it. */
export interface DigestedTask {
  frameworkId: string;
  task: TaskInfo;
  status: TaskStatus;
}

/**
 * canonicalJson writes a plain value with its object keys sorted, so that two equal task infos
 * hash alike whatever order their keys were built in. Undefined members are left out, as JSON does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v !== undefined) parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Two FNV-1a variants (different offset bases and primes) over a string's UTF-16 code units. */
function hashLanes(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x0100019d);
  }
  // A final mix so that strings differing only in their last unit still differ in every bit.
  a = Math.imul(a ^ (a >>> 15), 0x2c1b3c6d);
  b = Math.imul(b ^ (b >>> 13), 0x297a2d39);
  return [(a ^ (a >>> 12)) >>> 0, (b ^ (b >>> 16)) >>> 0];
}

/**
 * infoHashes caches the hash of each task info object's canonical form: an info never changes
 * once launched (a changed task is a new object), and an agent digests its tasks at every
 * re-registration.
 */
const infoHashes = new WeakMap<object, string>();

/** taskInfoHash is the cached hash of a task info's canonical JSON. */
export function taskInfoHash(info: TaskInfo): string {
  let h = infoHashes.get(info);
  if (h === undefined) {
    const [a, b] = hashLanes(canonicalJson(info));
    h = `${a.toString(36)}.${b.toString(36)}`;
    infoHashes.set(info, h);
  }
  return h;
}

/** taskHash is one task's two hash lanes. */
export function taskHash(t: DigestedTask): [number, number] {
  return statusHash(t.frameworkId, t.task.taskId, t.status, taskInfoHash(t.task));
}

/** statusHash is a task's two hash lanes from its info's hash (taskInfoHash) and its status. */
export function statusHash(
  frameworkId: string,
  taskId: string,
  status: TaskStatus,
  infoHash: string,
): [number, number] {
  return hashLanes(
    `${frameworkId}\u0000${taskId}\u0000${status.state}\u0000${status.uuid ?? ''}\u0000${status.timestamp}\u0000${infoHash}`,
  );
}

/** DigestSum is a digest being built: lanes summed mod 2^32, so the order of the tasks does not matter. */
export interface DigestSum {
  count: number;
  a: number;
  b: number;
}

/** emptyDigestSum starts a digest. */
export function emptyDigestSum(): DigestSum {
  return { count: 0, a: 0, b: 0 };
}

/** addToDigest adds one task to a digest being built. */
export function addToDigest(sum: DigestSum, t: DigestedTask): void {
  withTask(sum, taskHash(t));
}

/** finishDigest writes a digest being built as the wire form. */
export function finishDigest(sum: DigestSum): TaskDigest {
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  return { count: sum.count, hash: `${hex(sum.a)}${hex(sum.b)}` };
}

/** withTask and withoutTask add a task's lanes to a digest being built, or take them out again. */
export function withTask(sum: DigestSum, [a, b]: readonly [number, number]): void {
  sum.count++;
  sum.a = (sum.a + a) >>> 0;
  sum.b = (sum.b + b) >>> 0;
}
export function withoutTask(sum: DigestSum, [a, b]: readonly [number, number]): void {
  sum.count--;
  sum.a = (sum.a - a) >>> 0;
  sum.b = (sum.b - b) >>> 0;
}

/** taskDigest digests a list of tasks. */
export function taskDigest(tasks: Iterable<DigestedTask>): TaskDigest {
  const sum = emptyDigestSum();
  for (const t of tasks) addToDigest(sum, t);
  return finishDigest(sum);
}

/** sameDigest compares two digests. */
export function sameDigest(x: TaskDigest, y: TaskDigest): boolean {
  return x.count === y.count && x.hash === y.hash;
}

/** A REGISTER's body as an agent reports what it holds (protocol/messages/agent.ts). */
interface RegisterBody<A, T extends DigestedTask> {
  agent: A;
  tasks: T[];
  frameworks: FrameworkInfo[];
}

/**
 * withTasksDigest turns a full REGISTER body into the one for a master that takes a digest: the
 * digest of the non-terminal tasks in their place, the terminal ones in full, and only the
 * frameworks of those.
 */
export function withTasksDigest<A, T extends DigestedTask>(
  full: RegisterBody<A, T>,
): RegisterBody<A, T> & { tasksDigest: TaskDigest } {
  const sum = emptyDigestSum();
  const ended: T[] = [];
  for (const t of full.tasks) {
    if (isTerminal(t.status.state)) ended.push(t);
    else addToDigest(sum, t);
  }
  const theirs = new Set(ended.map((t) => t.frameworkId));
  return {
    agent: full.agent,
    tasks: ended,
    frameworks: full.frameworks.filter((f) => theirs.has(f.id)),
    tasksDigest: finishDigest(sum),
  };
}
