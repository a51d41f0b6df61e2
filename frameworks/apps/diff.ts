/**
 * diffSpecs lists what changed between two specs as `path: old -> new` lines, leaf by leaf, in a
 * stable order; an empty list means they are the same.
 */
export function diffSpecs(before: unknown, after: unknown, path = ''): string[] {
  const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffSpecs(before[k], after[k], path ? `${path}.${k}` : k));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [`${path || '(spec)'}: ${show(before)} -> ${show(after)}`];
}
