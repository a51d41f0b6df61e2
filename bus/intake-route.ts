/** IntakeRoute says where a message is decoded and validated. */
export const IntakeRoute = { INLINE: 'inline', WORKER: 'worker' } as const;
export type IntakeRoute = (typeof IntakeRoute)[keyof typeof IntakeRoute];

/**
 * chooseRoute decides where one message is parsed. A message follows any earlier message from the
 * same sender still in a worker, so that each sender's messages reach the handler in the order
 * they arrived; otherwise large messages go to a worker that can take them, and small ones (where
 * handing over costs about what parsing does) are parsed at once on the calling thread.
 */
export function chooseRoute(
  bytes: number,
  inFlight: number,
  workerReady: boolean,
  minBytes: number,
): IntakeRoute {
  if (inFlight > 0) return IntakeRoute.WORKER;
  return workerReady && bytes >= minBytes ? IntakeRoute.WORKER : IntakeRoute.INLINE;
}

/** laneOf picks the worker of a sender (FNV-1a of its key): always the same one, so its order holds. */
export function laneOf(key: string, lanes: number): number {
  if (lanes <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % lanes;
}
