/**
 * ProgressLine is one status line on stderr, rewritten in place when stderr is a terminal; when it
 * is not (CI, a pipe), a line is printed every `plainEveryMs` instead, so logs stay readable.
 */
export class ProgressLine {
  private lastPlain = 0;
  private shown = false;
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number } = process.stderr,
    private readonly plainEveryMs = 10_000,
    enabled = true,
  ) {
    this.tty = enabled && !!out.isTTY;
    if (!enabled) this.plainEveryMs = Number.POSITIVE_INFINITY;
  }

  update(text: string): void {
    if (this.tty) {
      const width = Math.max(20, (this.out.columns ?? 120) - 1);
      this.out.write(`\r\x1b[2K${text.slice(0, width)}`);
      this.shown = true;
      return;
    }
    const now = Date.now();
    if (now - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = now;
      this.out.write(`${text}\n`);
    }
  }

  /** done clears the line so that what follows starts on a fresh one. */
  done(): void {
    if (this.tty && this.shown) this.out.write('\r\x1b[2K');
    this.shown = false;
  }
}

/** Rate measures a counter's rate over a sliding window of samples. */
export class Rate {
  private readonly samples: { t: number; n: number }[] = [];
  constructor(private readonly windowMs = 3000) {}

  /** sample records the counter at time t (ms) and returns its rate per second over the window. */
  sample(t: number, n: number): number {
    this.samples.push({ t, n });
    while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    return t > first.t ? ((n - first.n) * 1000) / (t - first.t) : 0;
  }
}
