import { readFileSync } from 'node:fs';

/** ProcessStats is a process's CPU time so far (user + system, seconds) and resident memory (MiB). */
export interface ProcessStats {
  cpuSeconds: number;
  rssMb: number;
}

// Linux reports CPU times in clock ticks; USER_HZ is 100 on every mainstream kernel.
const TICKS_PER_SECOND = 100;

/**
 * processStats reads /proc/<pid>/stat (utime, stime) and /proc/<pid>/status (VmRSS). It throws
 * when the process is gone or /proc is missing (not Linux).
 */
export function processStats(pid: number): ProcessStats {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
  return { cpuSeconds: (utime + stime) / TICKS_PER_SECOND, rssMb: rssKb / 1024 };
}

/** PeakWatcher samples a process every `everyMs` and keeps its peak RSS. */
export class PeakWatcher {
  peakRssMb = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    everyMs = 500,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
    this.sample();
  }

  sample(): ProcessStats | undefined {
    try {
      const s = processStats(this.pid);
      this.peakRssMb = Math.max(this.peakRssMb, s.rssMb);
      return s;
    } catch {
      return undefined;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
