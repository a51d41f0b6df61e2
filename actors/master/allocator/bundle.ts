import { resources as R, type Range, type Resource, type Resources } from '../../../protocol/index.js';
import type { Slot, SlotRegistry } from './slots.js';

/**
 * Bundle is an immutable resource list in the allocator's own compact form: entries sorted by slot
 * number, scalars in integer thousandths (the protocol's fixed point, so sums are exact), ranges
 * merged. Arithmetic is a linear merge of two short arrays. A bundle remembers its protocol list
 * once built, so an offer made from an unchanged agent hands out the same list every time.
 */
export class Bundle {
  /** list caches the protocol form (frozen); see toResources. */
  list: Resources | undefined;
  /** allocatable caches the min-allocatable verdict for this bundle. */
  allocatable: boolean | undefined;

  constructor(
    readonly slots: readonly Slot[],
    /** Thousandths for scalar slots; 0 for ranged ones. */
    readonly amounts: readonly number[],
    readonly ranges: readonly (readonly Range[] | null)[],
    /** Whether any entry is reserved for a role. */
    readonly reserved: boolean,
  ) {}

  /** isEmpty tells whether the bundle holds nothing. */
  get isEmpty(): boolean {
    return this.slots.length === 0;
  }
}

/** EMPTY is the bundle with nothing in it. */
export const EMPTY = new Bundle([], [], [], false);
EMPTY.list = Object.freeze([]) as unknown as Resources;

/** toMilli converts a protocol scalar to integer thousandths. */
export function toMilli(x: number): number {
  return Math.round(x * 1000);
}

/**
 * Builder collects a bundle's entries in order. Bundle arithmetic runs on every launch and status
 * update, so one scratch builder is reused (`builder()`), and `done` copies exactly the entries
 * pushed: an array grown by push keeps room for 17 entries (152 bytes), and a large master holds
 * several bundles an agent for as long as the agent lives (what its full collections mark).
 */
class Builder {
  private readonly slots: Slot[] = [];
  private readonly amounts: number[] = [];
  private readonly ranges: (readonly Range[] | null)[] = [];
  /** Entries pushed since `start`. */
  n = 0;
  private reserved = false;
  private ranged = false;
  busy = false;
  start(): this {
    this.n = 0;
    this.reserved = false;
    this.ranged = false;
    this.busy = true;
    return this;
  }
  push(s: Slot, amount: number, ranges: readonly Range[] | null): void {
    if (s.ranged ? !ranges || ranges.length === 0 : amount <= 0) return;
    const n = this.n++;
    this.slots[n] = s;
    this.amounts[n] = s.ranged ? 0 : amount;
    this.ranges[n] = s.ranged ? ranges : null;
    if (s.reserved) this.reserved = true;
    if (s.ranged) this.ranged = true;
  }
  /** done returns the bundle of the entries pushed and frees the builder. */
  done(): Bundle {
    const n = this.n;
    if (n === 0) {
      this.busy = false;
      return EMPTY;
    }
    // Bundles without ranges share one list of nulls.
    const ranges = this.ranged ? this.ranges.slice(0, n) : nullsOf(n);
    const bundle = new Bundle(this.slots.slice(0, n), this.amounts.slice(0, n), ranges, this.reserved);
    this.drop();
    return bundle;
  }
  /** drop frees the builder without making a bundle (nor keeping the ranges it was given). */
  drop(): void {
    this.busy = false;
    for (let i = 0; i < this.n; i++) this.ranges[i] = null;
  }
}

const SCRATCH = new Builder();

/** builder is the scratch builder, or a new one while the scratch one is in use. */
function builder(): Builder {
  return (SCRATCH.busy ? new Builder() : SCRATCH).start();
}

const NULLS: (readonly null[])[] = [];

/** nullsOf is the shared, frozen list of n nulls (the ranges of a bundle with no ranged entry). */
function nullsOf(n: number): readonly null[] {
  let list = NULLS[n];
  if (list === undefined) {
    list = Object.freeze(Array.from({ length: n }, () => null));
    if (n < 64) NULLS[n] = list;
  }
  return list;
}

/** bundleOf converts a protocol list (normalized or not) into a bundle. */
export function bundleOf(reg: SlotRegistry, rs: readonly Resource[]): Bundle {
  if (rs.length === 0) return EMPTY;
  const scal = new Map<Slot, number>();
  const rang = new Map<Slot, Range[]>();
  for (const r of rs) {
    const ranged = r.ranges !== undefined;
    const s = reg.slot(r.name, r.role, ranged);
    if (ranged) rang.set(s, [...(rang.get(s) ?? []), ...(r.ranges ?? [])]);
    else scal.set(s, (scal.get(s) ?? 0) + toMilli(r.scalar ?? 0));
  }
  const all = [...scal.keys(), ...rang.keys()].sort((a, b) => a.id - b.id);
  const b = builder();
  for (const s of all) b.push(s, scal.get(s) ?? 0, s.ranged ? R.mergeRanges(rang.get(s) ?? []) : null);
  return b.done();
}

/** toResources returns the protocol form of a bundle, in normalized order; the list is frozen and cached. */
export function toResources(b: Bundle): Resources {
  if (b.list) return b.list;
  const out: Resource[] = [];
  for (let i = 0; i < b.slots.length; i++) {
    const s = b.slots[i];
    const r: Resource = s.ranged
      ? { name: s.name, ranges: (b.ranges[i] ?? []).map((x) => Object.freeze([x[0], x[1]]) as Range) }
      : { name: s.name, scalar: b.amounts[i] / 1000 };
    if (s.reserved) r.role = s.role;
    if (r.ranges) Object.freeze(r.ranges);
    out.push(Object.freeze(r));
  }
  out.sort((x, y) => {
    const kx = `${x.name}(${x.role ?? '*'})`;
    const ky = `${y.name}(${y.role ?? '*'})`;
    return kx < ky ? -1 : kx > ky ? 1 : 0;
  });
  b.list = Object.freeze(out) as unknown as Resources;
  return b.list;
}

function addRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  return R.mergeRanges([...a, ...b]);
}

/** subRanges removes b from a; both merged and sorted. */
function subRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let j = 0;
  for (const [a0, a1] of a) {
    let lo = a0;
    while (j < b.length && b[j][1] < lo) j++;
    let k = j;
    while (lo <= a1 && k < b.length && b[k][0] <= a1) {
      if (b[k][0] > lo) out.push([lo, b[k][0] - 1]);
      lo = Math.max(lo, b[k][1] + 1);
      k++;
    }
    if (lo <= a1) out.push([lo, a1]);
  }
  return out;
}

/** containsRanges tells whether a covers b; both merged and sorted. */
function containsRanges(a: readonly Range[], b: readonly Range[]): boolean {
  let i = 0;
  for (const [b0, b1] of b) {
    while (i < a.length && a[i][1] < b0) i++;
    if (i >= a.length || a[i][0] > b0 || a[i][1] < b1) return false;
  }
  return true;
}

function intersectRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  return subRanges(a, subRanges(a, b));
}

/** add returns a + b. */
export function add(a: Bundle, b: Bundle): Bundle {
  if (b.isEmpty) return a;
  if (a.isEmpty) return b;
  const out = builder();
  let i = 0;
  let j = 0;
  while (i < a.slots.length || j < b.slots.length) {
    const sa = a.slots[i];
    const sb = b.slots[j];
    if (sb === undefined || (sa !== undefined && sa.id < sb.id)) {
      out.push(sa, a.amounts[i], a.ranges[i]);
      i++;
    } else if (sa === undefined || sb.id < sa.id) {
      out.push(sb, b.amounts[j], b.ranges[j]);
      j++;
    } else {
      out.push(
        sa,
        a.amounts[i] + b.amounts[j],
        sa.ranged ? addRanges(a.ranges[i] ?? [], b.ranges[j] ?? []) : null,
      );
      i++;
      j++;
    }
  }
  return out.done();
}

/** subtract returns a - b; quantities stop at zero and missing entries are ignored. */
export function subtract(a: Bundle, b: Bundle): Bundle {
  if (b.isEmpty || a.isEmpty) return a;
  if (a === b) return EMPTY;
  const out = builder();
  let j = 0;
  for (let i = 0; i < a.slots.length; i++) {
    const s = a.slots[i];
    while (j < b.slots.length && b.slots[j].id < s.id) j++;
    if (j < b.slots.length && b.slots[j] === s) {
      out.push(
        s,
        a.amounts[i] - b.amounts[j],
        s.ranged ? subRanges(a.ranges[i] ?? [], b.ranges[j] ?? []) : null,
      );
    } else {
      out.push(s, a.amounts[i], a.ranges[i]);
    }
  }
  return out.done();
}

/** intersect returns what a and b hold in common (the smaller amount of each entry). */
export function intersect(a: Bundle, b: Bundle): Bundle {
  if (a === b) return a;
  const out = builder();
  let j = 0;
  for (let i = 0; i < a.slots.length; i++) {
    const s = a.slots[i];
    while (j < b.slots.length && b.slots[j].id < s.id) j++;
    if (j < b.slots.length && b.slots[j] === s) {
      out.push(
        s,
        Math.min(a.amounts[i], b.amounts[j]),
        s.ranged ? intersectRanges(a.ranges[i] ?? [], b.ranges[j] ?? []) : null,
      );
    }
  }
  return out.done();
}

/** contains tells whether a holds at least b, entry by entry (same name, role and kind). */
export function contains(a: Bundle, b: Bundle): boolean {
  if (a === b || b.isEmpty) return true;
  let i = 0;
  for (let j = 0; j < b.slots.length; j++) {
    const s = b.slots[j];
    while (i < a.slots.length && a.slots[i].id < s.id) i++;
    if (i >= a.slots.length || a.slots[i] !== s) return false;
    if (s.ranged) {
      if (!containsRanges(a.ranges[i] ?? [], b.ranges[j] ?? [])) return false;
    } else if (a.amounts[i] < b.amounts[j]) return false;
  }
  return true;
}

/** usableIn tells whether resources reserved for `owner` may be offered to `role`. */
export function usableIn(owner: string, role: string): boolean {
  return (
    owner === '*' ||
    owner === role ||
    (role.length > owner.length && role.startsWith(owner) && role[owner.length] === '/')
  );
}

/** usableBy keeps unreserved entries and those reserved for the role or an ancestor of it. */
export function usableBy(b: Bundle, role: string): Bundle {
  if (!b.reserved) return b;
  const out = builder();
  for (let i = 0; i < b.slots.length; i++) {
    const s = b.slots[i];
    if (!s.reserved || usableIn(s.role, role)) out.push(s, b.amounts[i], b.ranges[i]);
  }
  if (out.n !== b.slots.length) return out.done();
  out.drop();
  return b;
}

/**
 * chop cuts each scalar entry to what `take` allows (0 drops it); ranges pass whole, since quota
 * and headroom are kept on scalars only.
 */
export function chop(b: Bundle, take: (s: Slot, amount: number) => number): Bundle {
  const out = builder();
  let same = true;
  for (let i = 0; i < b.slots.length; i++) {
    const s = b.slots[i];
    if (s.ranged) {
      out.push(s, 0, b.ranges[i]);
      continue;
    }
    const t = Math.min(b.amounts[i], Math.max(0, take(s, b.amounts[i])));
    if (t !== b.amounts[i]) same = false;
    out.push(s, t, null);
  }
  if (!same) return out.done();
  out.drop();
  return b;
}

/** addByName adds sign * each scalar entry into a per-name vector (thousandths). */
export function addByName(
  vec: number[],
  b: Bundle,
  sign: 1 | -1,
  reservedOnly = false,
  unreservedOnly = false,
): void {
  for (let i = 0; i < b.slots.length; i++) {
    const s = b.slots[i];
    if (s.ranged) continue;
    if (reservedOnly && !s.reserved) continue;
    if (unreservedOnly && s.reserved) continue;
    vec[s.nameIdx] = (vec[s.nameIdx] ?? 0) + sign * b.amounts[i];
  }
}

/** byName sums scalar entries per name (thousandths). */
export function byName(b: Bundle): number[] {
  const v: number[] = [];
  addByName(v, b, 1);
  return v;
}
