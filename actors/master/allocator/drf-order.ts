import type { FrameworkRole, RoleNode, SelfLeaf } from './records.js';
import type { Sortable, Sorter } from './sorter.js';

/**
 * DrfOrder keeps the role tree's sorters in weighted DRF order. Shares are dominant shares of
 * cluster totals (`total`, per name, thousandths), divided by role weights. Allocations change
 * between runs in bulk, so touched entries are re-keyed and their sorters sorted once at the start
 * of a run (`prepare`); inside a run each agent's allocations move their entries at once (`flush`).
 */
export class DrfOrder {
  /** Cluster totals by name, in thousandths: the denominators of every share. */
  readonly total: number[] = [];
  /** Totals, weights or the tree changed: every key is recomputed before the next run. */
  stale = true;
  private excluded: boolean[] = [];
  private touched: FrameworkRole[] = [];
  private readonly dirty = new Set<Sortable>();

  constructor(
    /** The registry's resource names, growing as new ones appear. */
    private readonly names: readonly string[],
    private readonly excludedNames: ReadonlySet<string>,
  ) {}

  /** dominant is the largest allocated / total over names not excluded from fair sharing. */
  dominant(v: readonly number[]): number {
    if (this.excluded.length !== this.names.length)
      this.excluded = this.names.map((n) => this.excludedNames.has(n));
    let m = 0;
    for (let i = 0; i < v.length; i++) {
      const a = v[i];
      if (!a) continue;
      const t = this.total[i];
      if (!t || this.excluded[i]) continue;
      const s = a / t;
      if (s > m) m = s;
    }
    return m;
  }

  /** touch notes that a (framework, role)'s allocation changed. */
  touch(fr: FrameworkRole): void {
    if (fr.touched) return;
    fr.touched = true;
    this.touched.push(fr);
  }

  /** prepare brings every key up to date and sorts what changed, before a run. */
  prepare(root: RoleNode): void {
    if (this.stale) {
      this.stale = false;
      for (const fr of this.touched) fr.touched = false;
      this.touched = [];
      this.rekeyAll(root);
    } else this.rekeyTouched(false);
    for (const s of this.dirty) s.sort();
    this.dirty.clear();
  }

  /** flush moves the entries touched since the last flush to their places (inside a run). */
  flush(): void {
    this.rekeyTouched(true);
  }

  private rekeyTouched(move: boolean): void {
    if (this.touched.length === 0) return;
    for (const fr of this.touched) {
      fr.touched = false;
      if (fr.fw.frs.get(fr.node.name) === fr) this.rekey(fr, move);
    }
    this.touched = [];
  }

  private rekeyAll(node: RoleNode): void {
    for (const fr of node.frameworks.toArray())
      this.setKey(node.frameworks, fr, this.dominant(fr.alloc), fr.count, false);
    if (node.parent) {
      this.setKey(node.kids, node.self, this.dominant(node.self.alloc) / node.weight, node.self.count, false);
    }
    for (const child of node.children.values()) {
      this.setKey(node.kids, child, this.dominant(child.alloc) / child.weight, child.count, false);
      this.rekeyAll(child);
    }
    node.frameworks.dirty = true;
    node.kids.dirty = true;
    this.dirty.add(node.frameworks);
    this.dirty.add(node.kids);
  }

  /** rekey refreshes the keys of a (framework, role) and of every role above it. */
  private rekey(fr: FrameworkRole, move: boolean): void {
    const node = fr.node;
    this.setKey(node.frameworks, fr, this.dominant(fr.alloc), fr.count, move);
    this.setKey(node.kids, node.self, this.dominant(node.self.alloc) / node.weight, node.self.count, move);
    for (let n: RoleNode = node; n.parent; n = n.parent) {
      this.setKey(n.parent.kids, n, this.dominant(n.alloc) / n.weight, n.count, move);
    }
  }

  private setKey<T extends RoleNode | SelfLeaf | FrameworkRole>(
    sorter: Sorter<T>,
    x: T,
    share: number,
    count: number,
    move: boolean,
  ): void {
    if (move) sorter.move(x, share, count);
    else {
      sorter.restale(x, share, count);
      if (sorter.dirty) this.dirty.add(sorter);
    }
  }
}
