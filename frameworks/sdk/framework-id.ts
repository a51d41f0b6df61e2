import { randomUUID } from 'node:crypto';

/**
 * newFrameworkId makes a fresh framework id (`fw-<uuid>`). A framework picks its own id so it can
 * listen on its events subject before it subscribes; keep it to fail over to a new instance.
 */
export function newFrameworkId(uuid: string = randomUUID()): string {
  return `fw-${uuid}`;
}
