/**
 * DueQueue is a binary min-heap of items by due time: the simulator's one timer for every task's
 * end, instead of one timer per task.
 */
export class DueQueue<T> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(dueAt: number, item: T): void {
    const { at, items } = this;
    let i = items.length;
    at.push(dueAt);
    items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p] <= dueAt) break;
      at[i] = at[p];
      items[i] = items[p];
      i = p;
    }
    at[i] = dueAt;
    items[i] = item;
  }

  /** popDue removes and returns every item due at or before `now`, earliest first. */
  popDue(now: number, max = Number.POSITIVE_INFINITY): T[] {
    const out: T[] = [];
    while (this.items.length > 0 && this.at[0] <= now && out.length < max) out.push(this.pop() as T);
    return out;
  }

  private pop(): T | undefined {
    const { at, items } = this;
    const top = items[0];
    const lastAt = at.pop() as number;
    const last = items.pop() as T;
    const n = items.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && at[r] < at[l] ? r : l;
      if (at[c] >= lastAt) break;
      at[i] = at[c];
      items[i] = items[c];
      i = c;
    }
    at[i] = lastAt;
    items[i] = last;
    return top;
  }
}
