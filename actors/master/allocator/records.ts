import { type Bundle, EMPTY } from './bundle.js';
import type { FilterEntry, FilterHome, FilterOwner } from './filters.js';
import { type Ranked, Sorter } from './sorter.js';

/**
 * The allocator's mutable bookkeeping. Vectors are per resource name (SlotRegistry.names), in
 * thousandths; a missing entry is 0.
 */

/** QuotaVectors is a role's quota by name, in thousandths; undefined means no bound on that name. */
export interface QuotaVectors {
  guarantee: (number | undefined)[];
  limit: (number | undefined)[];
  /** The names the guarantee bounds. */
  guaranteed: number[];
}

/**
 * RoleNode is a role in the tree that `/` makes (`eng` is the parent of `eng/backend`); the root
 * has the empty name. Its `kids` sorter holds its child roles and its own SelfLeaf, so frameworks
 * subscribed to `eng` itself compete with `eng/backend` as one more child, as in Mesos's sorter.
 */
export class RoleNode implements Ranked {
  sShare = 0;
  sCount = 0;
  readonly leaf = false;
  readonly kids = new Sorter<RoleNode | SelfLeaf>();
  readonly children = new Map<string, RoleNode>();
  readonly frameworks = new Sorter<FrameworkRole>();
  readonly self: SelfLeaf;
  /** The subtree's allocation (offered + used). */
  readonly alloc: number[] = [];
  /** The part of alloc that came from reservations. */
  readonly allocReserved: number[] = [];
  /** Scalars reserved for this subtree on all agents, allocated or not (kept on top-level roles). */
  readonly reservedTotal: number[] = [];
  /** Allocations made to the subtree, for the "fewer allocations first" tie-break. */
  count = 0;
  weight = 1;
  /** (framework, role) pairs in the subtree that may be offered something now. */
  eligible = 0;
  /** Framework-role pairs attached here, eligible or not. */
  members = 0;
  quota: QuotaVectors | null = null;
  readonly top: RoleNode;

  constructor(
    readonly name: string,
    readonly parent: RoleNode | null,
  ) {
    this.self = new SelfLeaf(this);
    this.top = parent === null || parent.parent === null ? this : parent.top;
    if (parent) this.kids.add(this.self);
  }
}

/** SelfLeaf stands for the frameworks subscribed to a role itself among that role's children. */
export class SelfLeaf implements Ranked {
  sShare = 0;
  sCount = 0;
  readonly leaf = true;
  readonly name: string;
  readonly alloc: number[] = [];
  count = 0;
  eligible = 0;
  constructor(readonly node: RoleNode) {
    this.name = node.name;
  }
}

/** FrameworkState is one framework: its roles, whether it is connected, and GPU capability. */
export class FrameworkState {
  active = false;
  gpu = false;
  /** Known only from an agent's holdings, not yet added by the master. */
  placeholder = true;
  readonly frs = new Map<string, FrameworkRole>();
  constructor(readonly id: string) {}
}

/** FrameworkRole is one framework in one role: its allocation there, suppression and filters. */
export class FrameworkRole implements Ranked, FilterOwner {
  filterGen = 0;
  liveFilters = 0;
  sShare = 0;
  sCount = 0;
  readonly name: string;
  readonly alloc: number[] = [];
  count = 0;
  subscribed = false;
  suppressed = false;
  eligible = false;
  /** Agents where it holds offered or used resources. */
  holdingCount = 0;
  /** Its allocation changed since its sort keys were set (it is in the allocator's touched list). */
  touched = false;
  constructor(
    readonly fw: FrameworkState,
    readonly node: RoleNode,
    /** Unique, never reused: its filters' key on agents. */
    readonly key: number,
    /** Small and reused once it is gone: its bit in agents' filter bitsets. */
    readonly dense: number,
  ) {
    this.name = fw.id;
  }
}

/** HoldingRecord is what one (framework, role) has on one agent. */
export interface HoldingRecord {
  readonly fr: FrameworkRole;
  offered: Bundle;
  used: Bundle;
}

/** AgentState is one agent: its total, what is offered and used there, and its skip record. */
export class AgentState implements FilterHome {
  /** Refusal filters on this agent by (framework, role) key. */
  filters: Map<number, FilterEntry> | null = null;
  /**
   * A cache over `filters`: bit `dense` is set when that (framework, role) has a filter covering
   * `fbitsFor` (the agent's available bundle when the bits were set) until `fbitsUntil`. Valid
   * while the available bundle is the same object, no filter was dropped (`fbitsEpoch`) and none
   * of them expired. A covered bundle covers any part of it, so a set bit blocks every offer
   * made from that bundle; a clear bit means "look it up".
   */
  fbits: Uint32Array | null = null;
  fbitsFor: Bundle | null = null;
  fbitsEpoch = -1;
  fbitsUntil = 0;
  offered: Bundle = EMPTY;
  used: Bundle = EMPTY;
  /** total - used, rebuilt when either changes. */
  free: Bundle | null = null;
  /** free - offered, rebuilt when any of them changes. */
  avail: Bundle | null = null;
  /** Bumped whenever what the agent could offer changes. */
  version = 0;
  hasGpus = false;
  /** A short list: an agent usually holds tasks of a few frameworks and an offer or two. */
  readonly holdings: HoldingRecord[] = [];
  /**
   * The skip record: the last full look found nobody could take the agent; it stays valid while
   * the agent's version, the candidate and quota epochs are unchanged and no filter relied upon
   * has expired.
   */
  skipVersion = -1;
  skipCandidates = -1;
  skipQuota = -1;
  skipUntil = 0;
  constructor(
    readonly id: string,
    public total: Bundle,
  ) {}

  /** holding finds what a (framework, role) has here. */
  holding(fr: FrameworkRole): HoldingRecord | undefined {
    const hs = this.holdings;
    for (let i = 0; i < hs.length; i++) if (hs[i].fr === fr) return hs[i];
    return undefined;
  }
}
