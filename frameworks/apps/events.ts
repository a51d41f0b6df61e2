/** AppEvent is one line of an app's recent history, shown by `mezzo describe`. */
export interface AppEvent {
  at: number;
  message: string;
}

/** EVENT_LIMIT is how many events an app keeps. */
export const EVENT_LIMIT = 30;

/** withEvent appends an event, keeping the newest `limit`. */
export function withEvent(
  events: readonly AppEvent[],
  at: number,
  message: string,
  limit = EVENT_LIMIT,
): AppEvent[] {
  return [...events, { at, message }].slice(-limit);
}
