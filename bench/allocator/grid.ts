import {
  DEFAULT_ROUNDS,
  FULL_RUN_MAX_FILTERS,
  formatLine,
  type PointResult,
  runPoint,
} from './decline-offers.js';

/** GridPoint is one (agents, frameworks) pair. */
export interface GridPoint {
  agents: number;
  frameworks: number;
}

/** GridOptions say how many rounds each point runs: a number, or `full` for Mesos's 2 x frameworks. */
export interface GridOptions {
  rounds?: number | 'full';
  seed?: number;
}

/** GridOutcome is what a grid run measured and what it left out, with why. */
export interface GridOutcome {
  results: PointResult[];
  skipped: { point: GridPoint; reason: string }[];
  lines: string[];
}

/** The scenario's grid: agents {1k, 5k, 10k, 20k, 50k} x frameworks {100, 500, 1k, 2k, 3k}. */
export const FULL_GRID: GridPoint[] = [1_000, 5_000, 10_000, 20_000, 50_000].flatMap((agents) =>
  [100, 500, 1_000, 2_000, 3_000].map((frameworks) => ({ agents, frameworks })),
);

/** A tiny grid the test suite runs so the benchmark cannot rot. */
export const SMOKE_GRID: GridPoint[] = [
  { agents: 100, frameworks: 10 },
  { agents: 200, frameworks: 20 },
];
export const SMOKE_ROUNDS = 4;

/** skipReason tells why a point is left out of a run, or undefined to run it. */
export function skipReason(p: GridPoint, opts: GridOptions): string | undefined {
  if (opts.rounds === 'full' && p.agents * p.frameworks > FULL_RUN_MAX_FILTERS) {
    return `a full run ends with ${p.agents * p.frameworks} filters (agents x frameworks), over the ${FULL_RUN_MAX_FILTERS} that fit in memory and time here`;
  }
  return undefined;
}

/** runGrid runs each point in turn, reporting every summary line as it is made. */
export function runGrid(
  points: readonly GridPoint[],
  opts: GridOptions = {},
  onLine?: (line: string) => void,
): GridOutcome {
  const out: GridOutcome = { results: [], skipped: [], lines: [] };
  for (const point of points) {
    const reason = skipReason(point, opts);
    if (reason) {
      out.skipped.push({ point, reason });
      continue;
    }
    const rounds = opts.rounds === 'full' ? 2 * point.frameworks : (opts.rounds ?? DEFAULT_ROUNDS);
    const r = runPoint({ ...point, rounds, seed: opts.seed });
    const line = formatLine(r);
    out.results.push(r);
    out.lines.push(line);
    onLine?.(line);
    (globalThis as { gc?: () => void }).gc?.();
  }
  return out;
}
