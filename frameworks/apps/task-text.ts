import type { TaskStatus } from '../../protocol/index.js';

/** failureText describes a failed task for people: state, reason, exit code, message. */
export function failureText(s: TaskStatus): string {
  const parts: string[] = [s.state];
  if (s.reason) parts.push(s.reason);
  if (s.exitCode !== undefined) parts.push(`exit code ${s.exitCode}`);
  if (s.signal) parts.push(`signal ${s.signal}`);
  if (s.message) parts.push(s.message);
  return parts.join(': ');
}

/** bucketName turns a subject prefix and a kind into a valid KV bucket name (`mezzo_v1-jobs`). */
export function bucketName(prefix: string, kind: string): string {
  return `${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}-${kind}`;
}
