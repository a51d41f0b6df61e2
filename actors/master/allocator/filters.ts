import { type Bundle, contains } from './bundle.js';

/** FilterOwner is the (framework, role) a filter belongs to, as the FilterBook sees it. */
export interface FilterOwner {
  /** Unique and never reused: the key of its filters in an agent's map. */
  readonly key: number;
  /** Bumped to drop all its filters at once (REVIVE, removal). */
  filterGen: number;
  /** Its filters in force and not yet purged. */
  liveFilters: number;
}

/** FilterHome is an agent as the FilterBook sees it. */
export interface FilterHome {
  filters: Map<number, FilterEntry> | null;
}

/** FilterEntry is one refusal, chained per (framework, role, agent); most chains hold one. */
export class FilterEntry {
  dead = false;
  next: FilterEntry | null = null;
  readonly gen: number;
  constructor(
    readonly refused: Bundle,
    readonly expiresAt: number,
    readonly owner: FilterOwner,
    readonly home: FilterHome,
  ) {
    this.gen = owner.filterGen;
  }
}

const live = (f: FilterEntry): boolean => !f.dead && f.gen === f.owner.filterGen;

/**
 * FilterBook holds refusal filters. They live on their agent, keyed by (framework, role), so the
 * allocation loop, which looks at one agent and many frameworks in turn, finds them in one small
 * map. REVIVE drops a framework's filters everywhere at once by bumping its generation; entries
 * left behind are unlinked when met, when they expire, or by a sweep once they pile up. Expiry
 * is lazy too: a filter past its time no longer blocks, and `purge` (run at the start of each
 * allocation run) unlinks expired ones using a min-heap on expiresAt.
 */
export class FilterBook {
  /** Filters in force (expired ones not yet purged included). */
  count = 0;
  /** Entries still linked whose owner dropped them. */
  private stale = 0;
  private readonly heap: FilterEntry[] = [];

  /** add records a refusal; filters it makes redundant (smaller and expiring sooner) are dropped. */
  add(home: FilterHome, owner: FilterOwner, refused: Bundle, expiresAt: number): void {
    if (!home.filters) home.filters = new Map();
    let head = home.filters.get(owner.key) ?? null;
    for (let f = head; f; f = f.next) {
      if (live(f) && f.expiresAt >= expiresAt && contains(f.refused, refused)) return; // already covered
    }
    let prev: FilterEntry | null = null;
    for (let f = head; f; f = f.next) {
      if (!live(f) || (f.expiresAt <= expiresAt && contains(refused, f.refused))) {
        this.kill(f);
        if (prev) prev.next = f.next;
        else head = f.next;
      } else prev = f;
    }
    const entry = new FilterEntry(refused, expiresAt, owner, home);
    entry.next = head;
    home.filters.set(owner.key, entry);
    this.count++;
    owner.liveFilters++;
    if (Number.isFinite(expiresAt)) this.push(entry);
  }

  /**
   * blockedUntil tells whether a filter of `owner` in force at `now` covers the offer on this
   * agent, returning its expiry, or undefined when none does.
   */
  blockedUntil(home: FilterHome, owner: FilterOwner, offer: Bundle, now: number): number | undefined {
    const map = home.filters;
    if (map === null) return undefined;
    const head = map.get(owner.key);
    if (head === undefined) return undefined;
    if (head.gen !== owner.filterGen) {
      this.unlinkChain(map, owner.key, head);
      return undefined;
    }
    for (let f: FilterEntry | null = head; f; f = f.next) {
      if (f.gen !== owner.filterGen) break;
      if (f.expiresAt > now && (f.refused === offer || contains(f.refused, offer))) return f.expiresAt;
    }
    return undefined;
  }

  /** dropOwner removes every filter of one (framework, role), on all agents, at once. */
  dropOwner(owner: FilterOwner): void {
    this.count -= owner.liveFilters;
    this.stale += owner.liveFilters;
    owner.liveFilters = 0;
    owner.filterGen++;
  }

  /** dropHome removes every filter on one agent. */
  dropHome(home: FilterHome): void {
    if (!home.filters) return;
    for (const head of home.filters.values())
      for (let f: FilterEntry | null = head; f; f = f.next) this.kill(f);
    home.filters = null;
  }

  /** purge unlinks filters that expired at or before now, and sweeps dropped ones once they pile up. */
  purge(now: number, homes: Iterable<FilterHome>): void {
    const h = this.heap;
    while (h.length > 0 && h[0].expiresAt <= now) {
      const f = this.pop();
      if (f.dead) continue;
      const map = f.home.filters;
      this.kill(f);
      if (!map) continue;
      let head = map.get(f.owner.key) ?? null;
      if (head === f) head = f.next;
      else for (let p = head; p; p = p.next) if (p.next === f) p.next = f.next;
      if (head) map.set(f.owner.key, head);
      else map.delete(f.owner.key);
    }
    if (this.stale > 1024 && this.stale > this.count) this.sweep(homes);
  }

  private sweep(homes: Iterable<FilterHome>): void {
    for (const home of homes) {
      const map = home.filters;
      if (!map) continue;
      for (const [key, head] of map) if (head.gen !== head.owner.filterGen) this.unlinkChain(map, key, head);
    }
  }

  private unlinkChain(map: Map<number, FilterEntry>, key: number, head: FilterEntry): void {
    for (let f: FilterEntry | null = head; f; f = f.next) this.kill(f);
    map.delete(key);
  }

  /** kill marks an entry dead and takes it out of the counts it is in; the caller unlinks it. */
  private kill(f: FilterEntry): void {
    if (f.dead) return;
    f.dead = true;
    if (f.gen === f.owner.filterGen) {
      this.count--;
      f.owner.liveFilters--;
    } else this.stale--;
  }

  private push(f: FilterEntry): void {
    const h = this.heap;
    h.push(f);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].expiresAt <= f.expiresAt) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = f;
  }

  private pop(): FilterEntry {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as FilterEntry;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && h[l + 1].expiresAt < h[l].expiresAt ? l + 1 : l;
        if (h[c].expiresAt >= last.expiresAt) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
