import { z } from 'zod';
import { DEFAULT_ROLE, RoleName } from './ids.js';
import { Limits } from './limits.js';

/** Range is an inclusive [begin, end] interval of a range resource such as ports. */
export const Range = z
  .tuple([
    z
      .number()
      .int()
      .min(0)
      .max(2 ** 32),
    z
      .number()
      .int()
      .min(0)
      .max(2 ** 32),
  ])
  .refine(([b, e]) => b <= e, 'range begin must not exceed its end');
export type Range = [number, number];

/**
 * Resource is one named quantity: a scalar (`cpus`, `mem` in MB, `disk` in MB, `gpus`) or a set of
 * ranges (`ports`), optionally reserved for a role. Unreserved resources have role `*`.
 */
export const Resource = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'resource names are lowercase words such as cpus'),
    scalar: z.number().finite().nonnegative().max(1e12).optional(),
    ranges: z.array(Range).max(Limits.maxRanges).optional(),
    role: RoleName.optional(),
  })
  .refine(
    (r) => (r.scalar === undefined) !== (r.ranges === undefined),
    'a resource has either a scalar or ranges',
  );
export type Resource = { name: string; scalar?: number; ranges?: Range[]; role?: string };

/** Resources is a list of resources; the arithmetic below keeps lists normalized. */
export const Resources = z.array(Resource).max(Limits.maxResources);
export type Resources = Resource[];

/** ResourceParseError reports a malformed `--resources` string, naming the bad item. */
export class ResourceParseError extends Error {
  override name = 'ResourceParseError';
}

/** Scalars are fixed point to three decimals, like Mesos, so 0.1 + 0.2 == 0.3. */
export function roundScalar(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const roleOf = (r: Resource): string => r.role ?? DEFAULT_ROLE;
const keyOf = (r: Resource): string => `${r.name}(${roleOf(r)})`;

/** mergeRanges sorts ranges and coalesces those that overlap or touch. */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const [b, e] of sorted) {
    const last = out[out.length - 1];
    if (last && b <= last[1] + 1) last[1] = Math.max(last[1], e);
    else out.push([b, e]);
  }
  return out;
}

function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  let out = mergeRanges(a);
  for (const [sb, se] of mergeRanges(b)) {
    const next: Range[] = [];
    for (const [b0, e0] of out) {
      if (se < b0 || sb > e0) next.push([b0, e0]);
      else {
        if (b0 < sb) next.push([b0, sb - 1]);
        if (e0 > se) next.push([se + 1, e0]);
      }
    }
    out = next;
  }
  return out;
}

function rangesContain(a: readonly Range[], b: readonly Range[]): boolean {
  const merged = mergeRanges(a);
  return mergeRanges(b).every(([sb, se]) => merged.some(([b0, e0]) => b0 <= sb && se <= e0));
}

/** rangeSize counts the values in a list of ranges. */
export function rangeSize(ranges: readonly Range[]): number {
  return ranges.reduce((n, [b, e]) => n + (e - b + 1), 0);
}

function isEmptyResource(r: Resource): boolean {
  return r.ranges !== undefined ? r.ranges.length === 0 : roundScalar(r.scalar ?? 0) <= 0;
}

/** normalize merges entries with the same name and role, drops empty ones and sorts by key. */
export function normalize(rs: readonly Resource[]): Resources {
  // Hot: the master runs this several times per task. Fresh objects built with a fixed shape (no
  // `delete`), and keys computed once and sorted as strings (the same order as comparing them).
  const byKey = new Map<string, Resource>();
  for (const r of rs) {
    const k = keyOf(r);
    const prev = byKey.get(k);
    if (!prev) {
      const reserved = r.role !== undefined && r.role !== DEFAULT_ROLE;
      const amount = r.ranges ? { ranges: mergeRanges(r.ranges) } : { scalar: roundScalar(r.scalar ?? 0) };
      byKey.set(k, reserved ? { name: r.name, ...amount, role: r.role } : { name: r.name, ...amount });
    } else if (prev.ranges) {
      prev.ranges = mergeRanges([...prev.ranges, ...(r.ranges ?? [])]);
    } else {
      prev.scalar = roundScalar((prev.scalar ?? 0) + (r.scalar ?? 0));
    }
  }
  const out: Resource[] = [];
  for (const k of [...byKey.keys()].sort()) {
    const r = byKey.get(k) as Resource;
    if (!isEmptyResource(r)) out.push(r);
  }
  return out;
}

/** add returns a + b. */
export function add(a: readonly Resource[], b: readonly Resource[]): Resources {
  return normalize([...a, ...b]);
}

/** subtract returns a - b; quantities that would go negative stop at zero. */
export function subtract(a: readonly Resource[], b: readonly Resource[]): Resources {
  const out = normalize(a);
  for (const r of normalize(b)) {
    const k = keyOf(r);
    const mine = out.find((x) => keyOf(x) === k);
    if (!mine) continue;
    if (mine.ranges) mine.ranges = subtractRanges(mine.ranges, r.ranges ?? []);
    else mine.scalar = Math.max(0, roundScalar((mine.scalar ?? 0) - (r.scalar ?? 0)));
  }
  return normalize(out);
}

/** contains tells whether a holds at least b, entry by entry (same name and role). */
export function contains(a: readonly Resource[], b: readonly Resource[]): boolean {
  const mine = new Map(normalize(a).map((r) => [keyOf(r), r]));
  return normalize(b).every((r) => {
    const have = mine.get(keyOf(r));
    if (!have) return false;
    if (r.ranges) return rangesContain(have.ranges ?? [], r.ranges);
    return roundScalar(have.scalar ?? 0) >= roundScalar(r.scalar ?? 0);
  });
}

/** isEmpty tells whether a list holds nothing. */
export function isEmpty(rs: readonly Resource[]): boolean {
  return normalize(rs).length === 0;
}

/** equals tells whether two lists hold the same resources. */
export function equals(a: readonly Resource[], b: readonly Resource[]): boolean {
  // Lists written alike entry by entry (an agent re-registering unchanged) are equal without
  // normalizing either; any other pair is compared as multisets.
  if (a.length === b.length && a.every((r, i) => sameEntry(r, b[i]))) return true;
  return contains(a, b) && contains(b, a);
}

function sameEntry(a: Resource, b: Resource): boolean {
  if (a.name !== b.name || a.scalar !== b.scalar || a.role !== b.role) return false;
  if (a.ranges === b.ranges) return true;
  if (!a.ranges || !b.ranges || a.ranges.length !== b.ranges.length) return false;
  return a.ranges.every((x, i) => x[0] === b.ranges?.[i][0] && x[1] === b.ranges?.[i][1]);
}

/** scalar sums a scalar resource over all roles (0 when absent). */
export function scalar(rs: readonly Resource[], name: string): number {
  return roundScalar(rs.reduce((n, r) => (r.name === name && r.scalar !== undefined ? n + r.scalar : n), 0));
}

/** scalars sums every scalar resource over all roles: `{ cpus: 4, mem: 8192 }`. */
export function scalars(rs: readonly Resource[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) if (r.scalar !== undefined) out[r.name] = roundScalar((out[r.name] ?? 0) + r.scalar);
  return out;
}

/** ranges collects a range resource over all roles. */
export function ranges(rs: readonly Resource[], name: string): Range[] {
  return mergeRanges(rs.flatMap((r) => (r.name === name && r.ranges ? r.ranges : [])));
}

/**
 * usableBy keeps what a role may be offered: unreserved resources and those reserved for the role
 * or one of its ancestors (`eng` reservations are usable by `eng/backend`).
 */
export function usableBy(rs: readonly Resource[], role: string): Resources {
  return normalize(
    rs.filter((r) => {
      const owner = roleOf(r);
      return owner === DEFAULT_ROLE || owner === role || role.startsWith(`${owner}/`);
    }),
  );
}

/** unreserve moves every resource to the default role, to compare shapes regardless of role. */
export function unreserve(rs: readonly Resource[]): Resources {
  return normalize(rs.map(({ role: _role, ...r }) => r));
}

/**
 * fitIn decides which of `have` (an offer) satisfies `want` (a task's unreserved request): it
 * takes reserved resources of a role first, then unreserved. Returns the resources to use, with
 * their roles, or undefined when they do not fit.
 */
export function fitIn(have: readonly Resource[], want: readonly Resource[]): Resources | undefined {
  const pool = normalize(have);
  const taken: Resource[] = [];
  for (const w of normalize(want)) {
    const candidates = pool
      .filter((r) => r.name === w.name)
      .sort((a, b) => Number(roleOf(a) === DEFAULT_ROLE) - Number(roleOf(b) === DEFAULT_ROLE));
    if (w.ranges) {
      let need = mergeRanges(w.ranges);
      for (const c of candidates) {
        const got = need.flatMap((nr) =>
          (c.ranges ?? []).flatMap(([b, e]): Range[] => {
            const lo = Math.max(b, nr[0]);
            const hi = Math.min(e, nr[1]);
            return lo <= hi ? [[lo, hi]] : [];
          }),
        );
        if (got.length) {
          taken.push({ name: w.name, ranges: mergeRanges(got), role: c.role });
          need = subtractRanges(need, got);
        }
      }
      if (need.length) return undefined;
      continue;
    }
    let need = roundScalar(w.scalar ?? 0);
    for (const c of candidates) {
      if (need <= 0) break;
      const use = Math.min(need, roundScalar(c.scalar ?? 0));
      if (use > 0) {
        taken.push({ name: w.name, scalar: use, role: c.role });
        need = roundScalar(need - use);
      }
    }
    if (need > 0) return undefined;
  }
  return normalize(taken);
}

const ITEM = /^([a-z][a-z0-9_-]*)(?:\(([^)]*)\))?\s*:\s*(.+)$/;

/**
 * parseResources reads the Mesos flag syntax: `cpus:4;mem:8192;ports:[31000-32000];cpus(ads):2`.
 * Ranges may list several intervals: `ports:[80-80,31000-32000]`.
 */
export function parseResources(text: string): Resources {
  const out: Resource[] = [];
  for (const raw of text.split(';')) {
    const item = raw.trim();
    if (!item) continue;
    const m = ITEM.exec(item);
    if (!m) throw new ResourceParseError(`resource "${item}" is not NAME:VALUE or NAME(ROLE):VALUE`);
    const [, name, role, value] = m;
    if (role !== undefined && !RoleName.safeParse(role).success) {
      throw new ResourceParseError(`resource "${item}" has an invalid role "${role}"`);
    }
    const withRole = role && role !== DEFAULT_ROLE ? { role } : {};
    if (value.startsWith('[')) {
      if (!value.endsWith(']')) throw new ResourceParseError(`resource "${item}" has an unclosed range list`);
      const list: Range[] = [];
      for (const part of value.slice(1, -1).split(',')) {
        const rm = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part);
        if (!rm) throw new ResourceParseError(`resource "${item}" has a bad range "${part.trim()}"`);
        const b = Number(rm[1]);
        const e = Number(rm[2]);
        if (b > e) throw new ResourceParseError(`resource "${item}" has a range that ends before it begins`);
        list.push([b, e]);
      }
      out.push({ name, ranges: mergeRanges(list), ...withRole });
    } else {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0 || value.trim() === '') {
        throw new ResourceParseError(`resource "${item}" needs a non-negative number`);
      }
      out.push({ name, scalar: roundScalar(n), ...withRole });
    }
  }
  return normalize(out);
}

/** formatResources writes a list back in the flag syntax. */
export function formatResources(rs: readonly Resource[]): string {
  return normalize(rs)
    .map((r) => {
      const role = r.role && r.role !== DEFAULT_ROLE ? `(${r.role})` : '';
      const value = r.ranges ? `[${r.ranges.map(([b, e]) => `${b}-${e}`).join(',')}]` : String(r.scalar);
      return `${r.name}${role}:${value}`;
    })
    .join(';');
}

/** parseAttributes reads `rack:a;zone:west` into a record. */
export function parseAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(';')) {
    const item = raw.trim();
    if (!item) continue;
    const i = item.indexOf(':');
    if (i <= 0 || i === item.length - 1)
      throw new ResourceParseError(`attribute "${item}" is not NAME:VALUE`);
    out[item.slice(0, i).trim()] = item.slice(i + 1).trim();
  }
  return out;
}
