import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { PointResult } from './decline-offers.js';
import type { GridOutcome } from './grid.js';

/** Machine describes where a benchmark ran. */
export interface Machine {
  cpu: string;
  cores: number;
  memGiB: number;
  node: string;
  date: string;
}

/** machine describes this machine. */
export function machine(now = new Date()): Machine {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown cpu',
    cores: os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    date: now.toISOString(),
  };
}

/** The scenario's targets for cycle p50 on a 2-core machine. */
export const TARGETS: Record<string, number> = { '10000x1000': 100, '20000x2000': 300, '50000x3000': 1000 };

const n = (x: number | undefined): string => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

function target(r: PointResult): string {
  const t = TARGETS[`${r.agents}x${r.frameworks}`];
  if (t === undefined) return '';
  return r.cycleMsP50 <= t ? `<= ${t}: met` : `<= ${t}: MISSED`;
}

/** resultsMarkdown renders one run as a markdown section: the machine, how it ran, a table. */
export function resultsMarkdown(outcome: GridOutcome, m: Machine, how: string): string {
  const rows = outcome.results.map(
    (r) =>
      `| ${r.agents} | ${r.frameworks} | ${n(r.cycleMsP50)} | ${n(r.cycleMsP99)} | ${target(r)} | ${r.rounds}/${r.fullRounds} | ${r.offerRounds} | ${r.offersP50} | ${n(r.idleMsP50)} | ${n(r.recoverMsP50)} |`,
  );
  const skipped = outcome.skipped.map(
    (s) => `- skipped ${s.point.agents} agents x ${s.point.frameworks} frameworks: ${s.reason}`,
  );
  return [
    `## allocator (DeclineOffers), ${m.date.slice(0, 10)}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, Node ${m.node}; run at ${m.date}. ${how}`,
    '',
    '| agents | frameworks | cycle p50 ms | cycle p99 ms | target p50 ms | rounds | offer rounds | offers/round | idle round p50 ms | recover p50 ms |',
    '| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    ...(skipped.length ? ['', ...skipped] : []),
    '',
  ].join('\n');
}

/** appendResults adds a section to the results file, creating it with a title if needed. */
export function appendResults(path: string, section: string): void {
  if (!existsSync(path))
    writeFileSync(path, '# Benchmark results\n\nAppended by the `bench:*` scripts; newest last.\n\n');
  appendFileSync(path, `${section}\n`);
}
