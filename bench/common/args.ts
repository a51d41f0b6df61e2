/** positiveInt parses a `--name N` value, refusing anything but a positive integer. */
export function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const x = Number(text);
  if (!Number.isInteger(x) || x <= 0) throw new Error(`--${name} takes a positive integer, not "${text}"`);
  return x;
}

/** nonNegative parses a `--name X` number that may be 0 or fractional. */
export function nonNegative(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || x < 0)
    throw new Error(`--${name} takes a non-negative number, not "${text}"`);
  return x;
}

/** nodeFlags splits a `--master-node-flags='...'` value into node flags (none when absent). */
export function nodeFlags(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter(Boolean);
}

/** RESULT_OPTIONS are the parseArgs options every benchmark takes besides its own. */
export const RESULT_OPTIONS = {
  note: { type: 'string' },
  'no-write': { type: 'boolean', default: false },
  results: { type: 'string', default: 'bench/RESULTS.md' },
  help: { type: 'boolean', default: false },
} as const;

/** runBench runs a benchmark's main and exits: 0 when it ends, 1 with its stack when it throws. */
export function runBench(name: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${name}: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
