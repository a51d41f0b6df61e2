/**
 * Latencies records samples (ms): all of them for exact percentiles at the end, plus a window of
 * the latest ones for a live p99.
 */
export class Latencies {
  private all: Float64Array;
  private n = 0;
  private readonly window: Float64Array;
  private w = 0;

  constructor(expected = 1024, windowSize = 10_000) {
    this.all = new Float64Array(Math.max(16, expected));
    this.window = new Float64Array(windowSize);
  }

  get count(): number {
    return this.n;
  }

  add(ms: number): void {
    if (this.n === this.all.length) {
      const grown = new Float64Array(this.all.length * 2);
      grown.set(this.all);
      this.all = grown;
    }
    this.all[this.n++] = ms;
    this.window[this.w++ % this.window.length] = ms;
  }

  /** percentile over every sample (q in 0..1); undefined when there are none. */
  percentile(q: number): number | undefined {
    return pick(this.all.subarray(0, this.n), q);
  }

  /** since is the percentile over the samples recorded after the first `from` ones. */
  since(from: number, q: number): number | undefined {
    return pick(this.all.subarray(Math.min(from, this.n), this.n), q);
  }

  /** recent is the percentile over the latest window of samples. */
  recent(q: number): number | undefined {
    return pick(this.window.subarray(0, Math.min(this.w, this.window.length)), q);
  }
}

function pick(xs: Float64Array, q: number): number | undefined {
  if (xs.length === 0) return undefined;
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
