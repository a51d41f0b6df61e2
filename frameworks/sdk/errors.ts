/** SchedulerClosedError rejects a call made after the scheduler closed, keeping why it closed. */
export class SchedulerClosedError extends Error {
  override name = 'SchedulerClosedError';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the scheduler is closed: ${reason}`, options);
  }
}

/** SubscribeRefusedError is a SUBSCRIBE the master refused for good (bad or removed framework). */
export class SubscribeRefusedError extends Error {
  override name = 'SubscribeRefusedError';
}
