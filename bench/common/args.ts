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
