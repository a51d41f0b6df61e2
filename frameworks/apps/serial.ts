/**
 * Serial runs async steps one at a time, in order: a framework's offers, updates, requests and
 * timer ticks all change the same state, so each step sees the last one's result.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(step: () => Promise<T> | T): Promise<T> {
    const next = this.tail.then(step, step);
    this.tail = next.catch(() => {});
    return next;
  }
}
