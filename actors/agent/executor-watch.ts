import type { LaunchEvent } from './executor-launcher.js';
import type { ProcessProbe } from './process-liveness.js';

/** EXITED_UNWATCHED is how the end of an executor of an earlier run is worded: its exit status cannot be known. */
export const EXITED_UNWATCHED =
  'Executor exited (it was started by an earlier run of the agent: exit status unknown)';

/** ExecutorWatchOptions say how often to look, how, and where to report. */
export interface ExecutorWatchOptions {
  intervalMs: number;
  probe: ProcessProbe;
  report(event: LaunchEvent): void;
}

/**
 * ExecutorWatch follows executors the agent took back after a restart. They are no longer its
 * children, so no exit event comes: it polls their pid and start time, and reports
 * EXECUTOR_EXITED (status unknown) once one is gone or its pid belongs to another process.
 */
export class ExecutorWatch {
  private readonly watched = new Map<string, { pid: number; startTime?: string }>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: ExecutorWatchOptions) {}

  /** watch starts following one executor, by its task's key. */
  watch(key: string, pid: number, startTime?: string): void {
    this.watched.set(key, { pid, ...(startTime !== undefined ? { startTime } : {}) });
    if (!this.timer) {
      this.timer = setInterval(() => this.poll(), this.opts.intervalMs);
      this.timer.unref();
    }
  }

  /** running counts the watched executors not yet seen gone. */
  running(): number {
    return this.watched.size;
  }

  /** poll reports every watched executor that is gone. */
  poll(): void {
    for (const [key, w] of [...this.watched]) {
      if (this.opts.probe(w.pid, w.startTime) === 'same') continue;
      this.watched.delete(key);
      this.opts.report({ type: 'EXECUTOR_EXITED', key, code: null, signal: null, message: EXITED_UNWATCHED });
    }
    if (this.watched.size === 0) this.stop();
  }

  /** stop stops polling. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
