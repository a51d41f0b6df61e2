import { DEFAULT_ROLE } from '../../../protocol/index.js';

/**
 * Slot is one (name, reservation role, kind) a resource can take, such as `cpus(*)` or
 * `ports(ads)`. Slots are numbered once per allocator so that the hot loop works on small sorted
 * arrays of numbers instead of normalized resource lists.
 */
export interface Slot {
  readonly id: number;
  readonly name: string;
  /** The reservation role; `*` when unreserved. */
  readonly role: string;
  readonly reserved: boolean;
  /** Whether the slot holds ranges (ports) rather than a scalar. */
  readonly ranged: boolean;
  /** Index of `name` in SlotRegistry.names, for per-name vectors such as shares. */
  readonly nameIdx: number;
  /** The protocol's sort key, `name(role)`, so lists come out in normalized order. */
  readonly key: string;
}

/** SlotRegistry hands out slot and name numbers; it only grows. */
export class SlotRegistry {
  readonly slots: Slot[] = [];
  readonly names: string[] = [];
  private readonly byKey = new Map<string, Slot>();
  private readonly nameIdx = new Map<string, number>();

  /** slot returns the slot for a resource's name, role and kind, creating it on first sight. */
  slot(name: string, role: string | undefined, ranged: boolean): Slot {
    const r = role ?? DEFAULT_ROLE;
    const k = `${name}(${r})${ranged ? '[]' : ''}`;
    let s = this.byKey.get(k);
    if (!s) {
      s = {
        id: this.slots.length,
        name,
        role: r,
        reserved: r !== DEFAULT_ROLE,
        ranged,
        nameIdx: this.name(name),
        key: `${name}(${r})`,
      };
      this.slots.push(s);
      this.byKey.set(k, s);
    }
    return s;
  }

  /** name returns the index of a resource name, creating it on first sight. */
  name(name: string): number {
    let i = this.nameIdx.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.nameIdx.set(name, i);
    }
    return i;
  }

  /** knownName tells the index of a name without creating it. */
  knownName(name: string): number | undefined {
    return this.nameIdx.get(name);
  }

  /** isRangedName tells whether a name has been seen holding ranges. */
  isRangedName(name: string): boolean {
    return this.slots.some((s) => s.ranged && s.name === name);
  }
}
