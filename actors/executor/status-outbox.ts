import type { TaskStatus } from '../../protocol/index.js';

/** OutboxStatus is a status the executor sends; it always has a uuid the agent acknowledges. */
export type OutboxStatus = TaskStatus & { uuid: string };

/**
 * push appends a status to the outbox (oldest first; the head is the one in flight) and says
 * whether it went straight to the head, to be sent now.
 */
export function push(
  outbox: readonly OutboxStatus[],
  status: OutboxStatus,
): { outbox: OutboxStatus[]; isHead: boolean } {
  return { outbox: [...outbox, status], isHead: outbox.length === 0 };
}

/** acknowledge pops the head if `uuid` is its uuid and returns the next head to send. */
export function acknowledge(
  outbox: readonly OutboxStatus[],
  uuid: string,
): { outbox: OutboxStatus[]; acked: boolean; next?: OutboxStatus } {
  if (outbox[0]?.uuid !== uuid) return { outbox: [...outbox], acked: false };
  const rest = outbox.slice(1);
  return { outbox: rest, acked: true, next: rest[0] };
}
