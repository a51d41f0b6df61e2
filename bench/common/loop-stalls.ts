import { monitorEventLoopDelay } from 'node:perf_hooks';

/** LoopStall is one late timer turn of this process's event loop: when (epoch ms) and how late. */
export interface LoopStall {
  at: number;
  lateMs: number;
}

/** LoopStalls watches this process's event loop while a benchmark measures latency through it. */
export interface LoopStalls {
  /** Stalls of at least the threshold, oldest first. */
  stalls(): LoopStall[];
  /** The event loop delay's percentile (q in 0..100) in ms, from perf_hooks. */
  delayMs(q: number): number;
  stop(): void;
}

/**
 * watchLoopStalls ticks every `everyMs` and records each turn that came `thresholdMs` or more
 * late: a stall of the benchmark's own process, which adds to every latency measured through it.
 */
export function watchLoopStalls(everyMs = 10, thresholdMs = 20): LoopStalls {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const found: LoopStall[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const t = performance.now();
    const late = t - last - everyMs;
    if (late >= thresholdMs) found.push({ at: performance.timeOrigin + t, lateMs: late });
    last = t;
  }, everyMs);
  timer.unref();
  return {
    stalls: () => [...found],
    delayMs: (q) => h.percentile(q) / 1e6,
    stop() {
      clearInterval(timer);
      h.disable();
    },
  };
}
