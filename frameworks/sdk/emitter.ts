// biome-ignore lint/suspicious/noExplicitAny: handler signatures vary per event
type AnyHandler = (...args: any[]) => unknown;

/** HandlerMap names each event and the signature of its handlers. */
export type HandlerMap<H> = { [K in keyof H]: AnyHandler };

/** EmitResult is what the handlers of one emit did: their return values, and whether one threw. */
export interface EmitResult {
  results: unknown[];
  failed: boolean;
}

/**
 * TypedEmitter is a small typed event emitter. Unlike node's EventEmitter it gives `error` no special
 * meaning (nobody listening is fine) and a throwing handler never breaks the emitter: the error goes
 * to `onHandlerError` and the other handlers still run. An async handler whose promise rejects is
 * reported the same way, never left as an unhandled rejection that would end the process.
 */
export class TypedEmitter<H extends HandlerMap<H>> {
  private readonly handlers = new Map<keyof H, Set<AnyHandler>>();

  constructor(private readonly onHandlerError: (event: keyof H, err: unknown) => void = () => {}) {}

  /** on adds a handler for an event. */
  on<K extends keyof H>(event: K, handler: H[K]): this {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler);
    return this;
  }

  /** off removes a handler added with on or once. */
  off<K extends keyof H>(event: K, handler: H[K]): this {
    this.handlers.get(event)?.delete(handler);
    return this;
  }

  /** once adds a handler that runs for the next event only. */
  once<K extends keyof H>(event: K, handler: H[K]): this {
    const wrapper = ((...args: unknown[]) => {
      this.off(event, wrapper);
      return handler(...args);
    }) as H[K];
    return this.on(event, wrapper);
  }

  /** listenerCount counts the handlers of an event. */
  listenerCount(event: keyof H): number {
    return this.handlers.get(event)?.size ?? 0;
  }

  /** emit runs every handler of the event in the order they were added. */
  protected emit<K extends keyof H>(event: K, ...args: Parameters<H[K]>): EmitResult {
    const out: EmitResult = { results: [], failed: false };
    for (const handler of [...(this.handlers.get(event) ?? [])]) {
      try {
        const result = handler(...args);
        if (isThenable(result)) result.then(undefined, (err: unknown) => this.onHandlerError(event, err));
        out.results.push(result);
      } catch (err) {
        out.failed = true;
        this.onHandlerError(event, err);
      }
    }
    return out;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
