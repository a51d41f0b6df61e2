import type { ContainerStatus } from '../protocol/index.js';
import { formatScalar, table } from './format.js';

/** TopRow is one container as `mezzo top` shows it: rates from two samples, levels from the last. */
export interface TopRow {
  taskId: string;
  frameworkId: string;
  agentId: string;
  containerizer: string;
  /** Cpus used between the two samples (1 = one core); undefined on the first sample. */
  cpus?: number;
  cpusLimit?: number;
  /** Throttled periods between the two samples (CFS). */
  throttled?: number;
  memRssBytes?: number;
  memLimitBytes?: number;
  processes?: number;
}

const keyOf = (c: ContainerStatus) => `${c.agentId}/${c.containerId}`;
const cpuSecs = (c: ContainerStatus) =>
  c.statistics.cpusUserTimeSecs === undefined && c.statistics.cpusSystemTimeSecs === undefined
    ? undefined
    : (c.statistics.cpusUserTimeSecs ?? 0) + (c.statistics.cpusSystemTimeSecs ?? 0);

/**
 * topRows turns a sample of containers into rows, computing cpu use from the previous sample of
 * the same container (the change in user + system seconds over the change in timestamp). A
 * container new since then, or one whose clock did not move, has no rate yet.
 */
export function topRows(
  prev: readonly ContainerStatus[] | undefined,
  cur: readonly ContainerStatus[],
): TopRow[] {
  const before = new Map((prev ?? []).map((c) => [keyOf(c), c]));
  return cur.map((c) => {
    const p = before.get(keyOf(c));
    const dt = p ? c.statistics.timestamp - p.statistics.timestamp : 0;
    const now = cpuSecs(c);
    const then = p ? cpuSecs(p) : undefined;
    const row: TopRow = {
      taskId: c.taskId,
      frameworkId: c.frameworkId,
      agentId: c.agentId,
      containerizer: c.containerizer,
      cpusLimit: c.statistics.cpusLimit,
      memRssBytes: c.statistics.memRssBytes,
      memLimitBytes: c.statistics.memLimitBytes,
      processes: c.statistics.processes,
    };
    if (p && dt > 0 && now !== undefined && then !== undefined) row.cpus = Math.max(0, (now - then) / dt);
    const thr = c.statistics.cpusNrThrottled;
    const thrBefore = p?.statistics.cpusNrThrottled;
    if (thr !== undefined && thrBefore !== undefined) row.throttled = Math.max(0, thr - thrBefore);
    return row;
  });
}

/** bytes writes a size in binary units: `512 B`, `12.5 MiB`, `2 GiB`. */
export function bytes(n: number | undefined): string {
  if (n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = n;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${i === 0 ? x : Number(x.toFixed(1))} ${units[i]}`;
}

const opt = (x: number | undefined, f: (x: number) => string = formatScalar) =>
  x === undefined ? '-' : f(x);

/** topTable lays the rows out, busiest first. */
export function topTable(rows: readonly TopRow[]): string {
  if (rows.length === 0) return 'no running containers';
  const sorted = [...rows].sort(
    (a, b) => (b.cpus ?? -1) - (a.cpus ?? -1) || a.taskId.localeCompare(b.taskId),
  );
  return table(
    [
      'TASK',
      'FRAMEWORK',
      'AGENT',
      'CPUS',
      'CPU LIMIT',
      'THROTTLED',
      'MEM',
      'MEM LIMIT',
      'PROCS',
      'CONTAINER',
    ],
    sorted.map((r) => [
      r.taskId,
      r.frameworkId,
      r.agentId,
      opt(r.cpus, (x) => x.toFixed(2)),
      opt(r.cpusLimit),
      opt(r.throttled, String),
      bytes(r.memRssBytes),
      bytes(r.memLimitBytes),
      opt(r.processes, String),
      r.containerizer,
    ]),
  );
}
