import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** machineLine describes where a benchmark ran, for its results section. */
export function machineLine(now = new Date(), shared = true): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown cpu';
  return `Machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; run at ${now.toISOString()}${shared ? '; the machine was shared with other engineers building and testing at the same time' : ''}.`;
}

/** summaryLine renders `name key=value ...`, numbers rounded to what matters. */
export function summaryLine(name: string, fields: Record<string, number | string | undefined>): string {
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${fmt(v)}`);
  return [name, ...parts].join(' ');
}

function fmt(v: number | string | undefined): string {
  if (v === undefined) return '-';
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** appendSection adds a markdown section to the results file, creating it with a title if needed. */
export function appendSection(path: string, section: string): void {
  if (!existsSync(path))
    writeFileSync(path, '# Benchmark results\n\nAppended by the `bench:*` scripts; newest last.\n\n');
  const before = readFileSync(path, 'utf8');
  const gap = before.endsWith('\n\n') ? '' : before.endsWith('\n') ? '\n' : '\n\n';
  appendFileSync(path, `${gap}${section.trimEnd()}\n`);
}
