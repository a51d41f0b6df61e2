/** Ranked is anything the DRF sorters order: a role, a role's own frameworks, a framework in a role. */
export interface Ranked {
  /** The (weighted) dominant share this entry is sorted by. */
  sShare: number;
  /** How many allocations it has had: fewer go first among equal shares. */
  sCount: number;
  /** Role name or framework id: the last tie-break, so the order is total. */
  readonly name: string;
}

/** compareRanked orders by share, then allocation count, then name. */
export function compareRanked(a: Ranked, b: Ranked): number {
  if (a.sShare !== b.sShare) return a.sShare < b.sShare ? -1 : 1;
  if (a.sCount !== b.sCount) return a.sCount - b.sCount;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Sortable is what the allocator needs to re-sort a sorter whatever it holds. */
export interface Sortable {
  readonly dirty: boolean;
  sort(): void;
}

/** Entries per block: moving one entry shifts at most about this many, whatever the sorter's size. */
const BLOCK = 64;

/**
 * Sorter keeps entries in DRF order as a list of sorted blocks (a flat sorted array costs a shift
 * of thousands of entries each time a framework's share changes; blocks cap that at BLOCK).
 * Between allocation runs keys change in bulk (offers recovered, tasks finished), so `restale`
 * only marks the sorter for one sort at the start of the next run; inside a run one entry moves
 * at a time, so `move` repositions it by binary search. Read the order by walking `blocks`.
 */
export class Sorter<T extends Ranked> implements Sortable {
  /** The entries in order (when not dirty), in blocks of at most 2 x BLOCK. */
  blocks: T[][] = [];
  size = 0;
  dirty = false;

  /** add inserts an entry whose keys are set. */
  add(x: T): void {
    this.size++;
    if (this.dirty || this.blocks.length === 0) {
      if (this.blocks.length === 0) this.blocks.push([]);
      this.blocks[this.blocks.length - 1].push(x);
      return;
    }
    this.insert(x);
  }

  /** remove takes an entry out. */
  remove(x: T): void {
    if (this.take(x)) this.size--;
  }

  /** restale sets an entry's keys and leaves the order to the next `sort`. */
  restale(x: T, share: number, count: number): void {
    if (x.sShare === share && x.sCount === count) return;
    x.sShare = share;
    x.sCount = count;
    this.dirty = true;
  }

  /** move sets an entry's keys and moves it to its place at once. */
  move(x: T, share: number, count: number): void {
    if (x.sShare === share && x.sCount === count) return;
    if (this.dirty) {
      x.sShare = share;
      x.sCount = count;
      return;
    }
    const found = this.take(x);
    x.sShare = share;
    x.sCount = count;
    if (found) this.insert(x);
  }

  /** sort restores the order after `restale`. */
  sort(): void {
    if (!this.dirty) return;
    const all = this.toArray().sort(compareRanked);
    this.blocks = [];
    for (let i = 0; i < all.length; i += BLOCK) this.blocks.push(all.slice(i, i + BLOCK));
    this.dirty = false;
  }

  /** toArray lists the entries (in order unless dirty). */
  toArray(): T[] {
    return this.blocks.flat() as T[];
  }

  private insert(x: T): void {
    const bs = this.blocks;
    if (bs.length === 0) {
      bs.push([x]);
      return;
    }
    // The first block whose last entry is not before x; else the last block.
    let lo = 0;
    let hi = bs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = bs[mid];
      if (compareRanked(b[b.length - 1], x) < 0) lo = mid + 1;
      else hi = mid;
    }
    const block = bs[lo];
    block.splice(lowerBound(block, x), 0, x);
    if (block.length > 2 * BLOCK) bs.splice(lo + 1, 0, block.splice(BLOCK));
  }

  private take(x: T): boolean {
    const bs = this.blocks;
    if (!this.dirty) {
      let lo = 0;
      let hi = bs.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const b = bs[mid];
        if (compareRanked(b[b.length - 1], x) < 0) lo = mid + 1;
        else hi = mid;
      }
      const block = bs[lo];
      if (block) {
        const i = lowerBound(block, x);
        if (block[i] === x) {
          this.cut(lo, i);
          return true;
        }
      }
    }
    for (let b = 0; b < bs.length; b++) {
      const i = bs[b].indexOf(x);
      if (i >= 0) {
        this.cut(b, i);
        return true;
      }
    }
    return false;
  }

  private cut(b: number, i: number): void {
    const block = this.blocks[b];
    block.splice(i, 1);
    if (block.length === 0) this.blocks.splice(b, 1);
  }
}

function lowerBound<T extends Ranked>(xs: readonly T[], x: T): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareRanked(xs[mid], x) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
