import type { Logger } from '../bus/index.js';

/** Shutdown is a stop request from a signal (SIGINT, SIGTERM) or from inside the process. */
export interface Shutdown {
  /** Resolves with the reason of the first request. */
  readonly requested: Promise<string>;
  readonly isRequested: boolean;
  request(reason: string): void;
  /** Removes the signal handlers. */
  dispose(): void;
}

/**
 * onShutdownSignals makes the first SIGINT or SIGTERM a graceful stop request and the second one
 * a forced stop (`onForce`, which should exit the process).
 */
export function onShutdownSignals(
  onForce: (signal: NodeJS.Signals) => void,
  signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'],
): Shutdown {
  let resolve!: (reason: string) => void;
  const requested = new Promise<string>((r) => (resolve = r));
  let isRequested = false;
  const request = (reason: string) => {
    if (isRequested) return;
    isRequested = true;
    resolve(reason);
  };
  const handler = (signal: NodeJS.Signals) => {
    if (isRequested) onForce(signal);
    else request(signal);
  };
  for (const s of signals) process.on(s, handler);
  return {
    requested,
    get isRequested() {
      return isRequested;
    },
    request,
    dispose: () => {
      for (const s of signals) process.off(s, handler);
    },
  };
}

/** Teardown runs stop steps in the reverse order they were added, each with a time limit. */
export class Teardown {
  private readonly steps: { name: string; run: () => Promise<unknown> | unknown; limitMs: number }[] = [];

  constructor(private readonly log: Logger) {}

  /** add registers a step, to run before every step added earlier. */
  add(name: string, run: () => Promise<unknown> | unknown, limitMs = 20_000): void {
    this.steps.push({ name, run, limitMs });
  }

  /** run runs and forgets every step; returns false when one failed or ran out of time. */
  async run(): Promise<boolean> {
    let ok = true;
    while (this.steps.length) {
      const step = this.steps.pop() as (typeof this.steps)[number];
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(step.run),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`did not finish within ${step.limitMs} ms`)),
              step.limitMs,
            );
          }),
        ]);
        this.log.debug({ step: step.name }, 'stopped');
      } catch (err) {
        ok = false;
        this.log.error({ err, step: step.name }, 'a stop step failed');
      } finally {
        clearTimeout(timer);
      }
    }
    return ok;
  }
}

/** withTimeout rejects with `message` if the promise takes longer than `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * watchParent requests a stop when this process's parent goes away (it is re-parented). `npm start`
 * uses it: npm signals only its `sh -c` wrapper, which dies without passing the signal on.
 */
export function watchParent(
  shutdown: Pick<Shutdown, 'request'>,
  intervalMs = 500,
  ppid: () => number = () => process.ppid,
): () => void {
  const parent = ppid();
  const timer = setInterval(() => {
    if (ppid() !== parent) shutdown.request('parent process exited');
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
