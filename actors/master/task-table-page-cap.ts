/**
 * TASK_TABLE_PAGE_BYTES is the most one table page may grow to (about; the estimate is on the
 * high side), whatever the server accepts: a larger message holds the master's socket longer.
 */
export const TASK_TABLE_PAGE_BYTES = 4 * 1024 * 1024;

/**
 * pageBytesFor is how large a table page may grow on a server that accepts messages of at most
 * `maxPayload` bytes (the connection's INFO): half of it, for the answer's envelope and the
 * estimate's slack, and never more than TASK_TABLE_PAGE_BYTES. Unknown (a bus that is not a
 * NATS connection has no such limit): TASK_TABLE_PAGE_BYTES.
 */
export function pageBytesFor(maxPayload: number | undefined): number {
  if (maxPayload === undefined || !Number.isFinite(maxPayload) || maxPayload <= 0)
    return TASK_TABLE_PAGE_BYTES;
  return Math.min(TASK_TABLE_PAGE_BYTES, Math.floor(maxPayload / 2));
}

/**
 * maxPayloadOf reads the largest message the server accepts from a bus's NATS connection (its
 * INFO's max_payload), or undefined for a bus without one (in-process test buses).
 */
export function maxPayloadOf(bus: unknown): number | undefined {
  const info = (bus as { nc?: { info?: { max_payload?: unknown } } } | undefined)?.nc?.info;
  const max = info?.max_payload;
  return typeof max === 'number' && max > 0 ? max : undefined;
}
