import { Capability, resources as R, type Resources, RoleName } from '../../../protocol/index.js';
import {
  add,
  addByName,
  type Bundle,
  bundleOf,
  contains,
  EMPTY,
  intersect,
  subtract,
  toMilli,
  toResources,
  usableBy,
} from './bundle.js';
import { DEFAULT_FAIR_SHARING_EXCLUDED, DEFAULT_MIN_ALLOCATABLE } from './drf.js';
import { DrfOrder } from './drf-order.js';
import { AllocatorError, AllocatorStateError, QuotaError } from './errors.js';
import { FilterBook } from './filters.js';
import { type AllocatorMetrics, percentile, RunTimes } from './metrics.js';
import { type FullRun, mayRunPartially, NO_FULL_RUN } from './partial-run.js';
import { validateQuota, validateWeights } from './quota.js';
import { quotaCut, requiredHeadroom, unmetGuarantee } from './quota-cut.js';
import { seededRandom, shuffleInPlace } from './random.js';
import { AgentState, FrameworkRole, FrameworkState, type RoleNode } from './records.js';
import { applyReservation, type ReservationOp } from './reservation.js';
import { RoleTree } from './role-tree.js';
import { SlotRegistry } from './slots.js';
import type {
  AgentAllocations,
  Allocation,
  AllocatorOptions,
  FrameworkSpec,
  Holding,
  Quota,
  RefusalFilter,
} from './types.js';

const GUARANTEE = 1;
const FAIR = 2;
type Stage = typeof GUARANTEE | typeof FAIR;

/**
 * HierarchicalAllocator decides offers by hierarchical weighted DRF with quota, reservations and
 * refusal filters, like Mesos's HierarchicalAllocatorProcess. It does no I/O and keeps no clock:
 * the master tells it what happens (frameworks, agents, offers recovered or used, tasks finished)
 * and calls `allocate(now)` for a run, which returns the offers to make. Given the same calls and
 * seed it makes the same decisions.
 *
 * It keeps incremental indexes so that a run costs about one step per agent: per-agent available
 * resources cached until they change, DRF order kept sorted and moved one entry at a time
 * (DrfOrder), filters kept on their agent with a bitset of who is known to be filtered, and a
 * per-agent skip record for agents nobody could take last time when nothing relevant changed.
 */
export class HierarchicalAllocator {
  private readonly reg = new SlotRegistry();
  private readonly order: DrfOrder;
  private readonly tree: RoleTree;
  private readonly frameworks = new Map<string, FrameworkState>();
  private readonly agents = new Map<string, AgentState>();
  private readonly agentList: AgentState[] = [];
  private frKeys = 0;
  /** Dense numbers for (framework, role) pairs, reused after they go: bits in agents' filter bitsets. */
  private denseNext = 0;
  private readonly denseFree: number[] = [];
  /** Bumped when any filter is dropped before it expires: every agent's filter bitset is stale. */
  private bitsEpoch = 0;
  private readonly filterBook = new FilterBook();
  private readonly quotaRoles = new Map<string, RoleNode>();
  private readonly quotaInput = new Map<string, Quota>();

  /** Unreserved totals, allocated unreserved and offered scalars by name (thousandths). */
  private readonly unreservedTotal: number[] = [];
  private readonly allocUnreserved: number[] = [];
  private readonly offeredByName: number[] = [];
  private outstanding = 0;
  private readonly minimums: [number, number][][];

  /** Bumped when a (framework, role) may newly take something: added, activated, revived, quota changed. */
  private candidateEpoch = 0;
  /** Bumped on any allocation change while quota exists (limits and headroom move with it). */
  private quotaEpoch = 0;
  private headroomCache: { epoch: number; required: number[] } = { epoch: -1, required: [] };
  private cycle: { until: number; made: number; merge: Map<string, number> | null; out: Allocation[] } = {
    until: Number.POSITIVE_INFINITY,
    made: 0,
    merge: null,
    out: [],
  };

  /**
   * Agents whose resources changed (or that were added) since they were last visited. A run while
   * nothing else moved (no framework may newly take, no quota change, no filter dropped early, no
   * agent's skip time passed: what `partial` keeps) visits only these: every other agent was
   * visited since and offered nothing, and nothing that could change that has happened. At 40,000
   * agents a run over all of them cost ~2 ms even when each was skipped, and one ran per launch.
   */
  private readonly dirty = new Set<AgentState>();
  private partial: FullRun = { ...NO_FULL_RUN };

  private readonly random: () => number;
  private readonly agentOrder: 'random' | 'added';
  private readonly timer: (() => number) | undefined;
  private runs = 0;
  private readonly runTimes = new RunTimes(100);
  private lastRun = { ms: undefined as number | undefined, offers: 0, visited: 0, skipped: 0 };

  constructor(options: AllocatorOptions = {}) {
    this.random = options.random ?? seededRandom(options.seed ?? 1);
    this.agentOrder = options.agentOrder ?? 'random';
    this.timer = options.timer;
    this.order = new DrfOrder(
      this.reg.names,
      new Set(options.fairSharingExcluded ?? DEFAULT_FAIR_SHARING_EXCLUDED),
    );
    this.tree = new RoleTree(this.order);
    this.minimums = (options.minAllocatable ?? DEFAULT_MIN_ALLOCATABLE).map((min) => {
      if (min.some((r) => r.ranges !== undefined)) {
        throw new AllocatorError('minAllocatable takes scalar resources only, such as cpus:0.01 or mem:32');
      }
      return Object.entries(R.scalars(min)).map(([name, x]): [number, number] => [
        this.reg.name(name),
        toMilli(x),
      ]);
    });
  }

  // ---------------------------------------------------------------- frameworks

  /**
   * addFramework adds a framework or updates one already known (re-subscription): its roles,
   * capabilities, suppressed roles and whether it is active. Allocations in roles it no longer
   * subscribes to stay tracked until they are recovered or released.
   */
  addFramework(frameworkId: string, spec: FrameworkSpec): void {
    for (const role of spec.roles) {
      if (!RoleName.safeParse(role).success)
        throw new AllocatorError(`role "${role}" is not a valid role name`);
    }
    let fw = this.frameworks.get(frameworkId);
    if (!fw) {
      fw = new FrameworkState(frameworkId);
      this.frameworks.set(frameworkId, fw);
    }
    fw.placeholder = false;
    fw.active = spec.active ?? true;
    fw.gpu = (spec.capabilities ?? []).includes(Capability.GPU_RESOURCES);
    const roles = new Set(spec.roles);
    const suppressed = spec.suppressedRoles ? new Set(spec.suppressedRoles) : undefined;
    for (const role of roles) if (!fw.frs.has(role)) this.frameworkRole(fw, role);
    for (const fr of [...fw.frs.values()]) {
      fr.subscribed = roles.has(fr.node.name);
      if (suppressed) fr.suppressed = suppressed.has(fr.node.name);
      this.updateEligible(fr);
      this.dropIfIdle(fr);
    }
    this.candidateEpoch++;
  }

  /** removeFramework forgets a framework: what it held (offered and used) goes back, its filters go. */
  removeFramework(frameworkId: string): void {
    const fw = this.frameworks.get(frameworkId);
    if (!fw) return;
    for (const agent of this.agentList) {
      for (const h of [...agent.holdings]) {
        if (h.fr.fw !== fw) continue;
        this.charge(agent, h.fr, h.offered, 'offered', -1);
        this.charge(agent, h.fr, h.used, 'used', -1);
      }
    }
    for (const fr of [...fw.frs.values()]) {
      this.dropFilters(fr);
      fr.subscribed = false;
      this.updateEligible(fr);
      this.dropIfIdle(fr);
    }
    this.frameworks.delete(frameworkId);
  }

  /** activateFramework lets a (re)connected framework be offered resources again. */
  activateFramework(frameworkId: string): void {
    this.setActive(frameworkId, true);
  }

  /** deactivateFramework stops offers to a disconnected framework; it keeps what it holds. */
  deactivateFramework(frameworkId: string): void {
    this.setActive(frameworkId, false);
  }

  /** suppress stops offers to a framework in some roles (all of its roles when none are named). */
  suppress(frameworkId: string, roles?: readonly string[]): void {
    const fw = this.frameworks.get(frameworkId);
    if (!fw) return;
    for (const fr of this.rolesOf(fw, roles)) {
      fr.suppressed = true;
      this.updateEligible(fr);
    }
  }

  /** revive undoes suppress and clears the framework's filters in those roles (all when none are named). */
  revive(frameworkId: string, roles?: readonly string[]): void {
    const fw = this.frameworks.get(frameworkId);
    if (!fw) return;
    for (const fr of this.rolesOf(fw, roles)) {
      fr.suppressed = false;
      this.dropFilters(fr);
      this.updateEligible(fr);
    }
    this.candidateEpoch++;
  }

  // ---------------------------------------------------------------- agents

  /**
   * addAgent adds an agent with its total resources and what frameworks already hold there (the
   * tasks it reports when it registers or re-registers). Throws AllocatorStateError for a known
   * agent or holdings beyond the total.
   */
  addAgent(agentId: string, total: Resources, held: readonly Holding[] = []): void {
    if (this.agents.has(agentId)) throw new AllocatorStateError(`agent ${agentId} is already added`);
    const tb = bundleOf(this.reg, total);
    const heldBundles = held.map((h) => bundleOf(this.reg, h.resources));
    if (!contains(tb, heldBundles.reduce(add, EMPTY))) {
      throw new AllocatorStateError(
        `agent ${agentId} reports tasks holding more than its total ${R.formatResources(total)}`,
      );
    }
    const agent = new AgentState(agentId, tb);
    this.addTotals(agent, tb, 1);
    this.agents.set(agentId, agent);
    this.agentList.push(agent);
    this.dirty.add(agent);
    held.forEach((h, i) => {
      let fw = this.frameworks.get(h.frameworkId);
      if (!fw) {
        fw = new FrameworkState(h.frameworkId);
        this.frameworks.set(h.frameworkId, fw);
      }
      this.charge(agent, fw.frs.get(h.role) ?? this.frameworkRole(fw, h.role), heldBundles[i], 'used', 1);
    });
  }

  /** removeAgent forgets an agent, what was offered and used on it, and the filters that name it. */
  removeAgent(agentId: string): void {
    const agent = this.agents.get(agentId);
    if (!agent) return;
    for (const h of [...agent.holdings]) {
      this.charge(agent, h.fr, h.offered, 'offered', -1);
      this.charge(agent, h.fr, h.used, 'used', -1);
      this.dropIfIdle(h.fr);
    }
    this.filterBook.dropHome(agent);
    this.addTotals(agent, agent.total, -1);
    this.agents.delete(agentId);
    this.agentList.splice(this.agentList.indexOf(agent), 1);
    this.dirty.delete(agent);
    for (const fw of [...this.frameworks.values()]) {
      if (fw.placeholder && [...fw.frs.values()].every((fr) => fr.holdingCount === 0))
        this.removeFramework(fw.id);
    }
  }

  /**
   * updateAgentTotal replaces an agent's total, as after a RESERVE or UNRESERVE the master applied.
   * Throws AllocatorStateError, changing nothing, if the new total does not hold what is offered
   * and used there.
   */
  updateAgentTotal(agentId: string, total: Resources): void {
    const agent = this.agent(agentId);
    const tb = bundleOf(this.reg, total);
    if (!contains(tb, add(agent.used, agent.offered))) {
      throw new AllocatorStateError(
        `agent ${agentId}: new total ${R.formatResources(total)} does not hold what is offered and used there`,
      );
    }
    this.addTotals(agent, agent.total, -1);
    agent.total = tb;
    this.addTotals(agent, tb, 1);
    agent.free = null;
    agent.avail = null;
    agent.version++;
    this.dirty.add(agent);
  }

  /**
   * updateReservation applies a RESERVE or UNRESERVE to an agent's available resources (neither
   * offered nor used) and returns the agent's new total, or throws ReservationError and changes
   * nothing. The master rescinds offers first if it means to reserve offered resources.
   */
  updateReservation(agentId: string, op: ReservationOp): Resources {
    const agent = this.agent(agentId);
    const next = applyReservation(toResources(agent.total), toResources(this.available(agent)), op);
    this.updateAgentTotal(agentId, next);
    return next;
  }

  /**
   * updateOffered applies a RESERVE or UNRESERVE to resources offered to a framework in a role on
   * an agent (Mesos's RESERVE / UNRESERVE offer operations): they stay offered to it, converted,
   * and the agent's new total is returned. Throws ReservationError, changing nothing, when the
   * offered resources cannot honour it, and AllocatorStateError when nothing was offered there.
   */
  updateOffered(frameworkId: string, role: string, agentId: string, op: ReservationOp): Resources {
    const agent = this.agent(agentId);
    const fr = this.frameworks.get(frameworkId)?.frs.get(role);
    const h = fr && agent.holding(fr);
    if (!fr || !h) {
      throw new AllocatorStateError(
        `nothing on agent ${agentId} is offered to framework ${frameworkId} in role ${role}`,
      );
    }
    const offered = toResources(h.offered);
    const next = applyReservation(toResources(agent.total), offered, op);
    const rs = R.normalize(op.resources);
    const from = bundleOf(this.reg, op.type === 'RESERVE' ? R.unreserve(rs) : rs);
    const to = bundleOf(this.reg, op.type === 'RESERVE' ? rs : R.unreserve(rs));
    this.charge(agent, fr, from, 'offered', -1);
    this.updateAgentTotal(agentId, next);
    this.charge(agent, fr, to, 'offered', 1);
    return next;
  }

  // ---------------------------------------------------------------- offers and tasks

  /**
   * recover gives offered resources back (declined, unused part of an accept, rescinded, timed
   * out). With a filter, the framework is not offered a subset of them on that agent in that role
   * until `expiresAt`. Unknown agents, frameworks and resources not offered are ignored.
   */
  recover(
    frameworkId: string,
    role: string,
    agentId: string,
    resources: Resources,
    filter?: { expiresAt: number },
  ): void {
    const agent = this.agents.get(agentId);
    const fr = this.frameworks.get(frameworkId)?.frs.get(role);
    if (!agent || !fr) return;
    const h = agent.holding(fr);
    const given = h && h.offered.list === resources ? h.offered : bundleOf(this.reg, resources);
    if (h) this.charge(agent, fr, intersect(h.offered, given), 'offered', -1);
    if (filter && !given.isEmpty) this.filterBook.add(agent, fr, given, filter.expiresAt);
    this.dropIfIdle(fr);
  }

  /**
   * use marks offered resources as used by tasks (an accepted offer): they stay allocated to the
   * framework. Throws AllocatorStateError, changing nothing, if they were not offered to it there.
   */
  use(frameworkId: string, role: string, agentId: string, resources: Resources): void {
    const agent = this.agent(agentId);
    const fr = this.frameworks.get(frameworkId)?.frs.get(role);
    const h = fr && agent.holding(fr);
    const b = bundleOf(this.reg, resources);
    if (!fr || !h || !contains(h.offered, b)) {
      throw new AllocatorStateError(
        `${R.formatResources(resources)} on agent ${agentId} was not offered to framework ${frameworkId} in role ${role}`,
      );
    }
    const before = h.offered;
    h.offered = subtract(h.offered, b);
    h.used = add(h.used, b);
    agent.offered = subtract(agent.offered, b);
    agent.used = add(agent.used, b);
    agent.free = null;
    agent.avail = null;
    addByName(this.offeredByName, b, -1);
    if (!before.isEmpty && h.offered.isEmpty) this.outstanding--;
  }

  /** release frees resources a task held (it reached a terminal state). Unknown ones are ignored. */
  release(frameworkId: string, role: string, agentId: string, resources: Resources): void {
    const agent = this.agents.get(agentId);
    const fr = this.frameworks.get(frameworkId)?.frs.get(role);
    const h = fr && agent?.holding(fr);
    if (!agent || !fr || !h) return;
    this.charge(agent, fr, intersect(h.used, bundleOf(this.reg, resources)), 'used', -1);
    this.dropIfIdle(fr);
  }

  /** addFilter records a refusal without recovering anything (recover takes one too). */
  addFilter(filter: RefusalFilter): void {
    const agent = this.agents.get(filter.agentId);
    const fr = this.frameworks.get(filter.frameworkId)?.frs.get(filter.role);
    if (!agent || !fr) return;
    const b = bundleOf(this.reg, filter.resources);
    if (!b.isEmpty) this.filterBook.add(agent, fr, b, filter.expiresAt);
  }

  // ---------------------------------------------------------------- weights and quota

  /** updateWeights sets role weights (default 1); throws WeightError, changing nothing, on a bad one. */
  updateWeights(weights: Readonly<Record<string, number>>): void {
    validateWeights(weights);
    for (const [role, w] of Object.entries(weights)) this.tree.setWeight(role, w);
  }

  /** weights returns the roles' configured weights. */
  weights(): Record<string, number> {
    return this.tree.weightsRecord();
  }

  /**
   * updateQuota sets (or with undefined, or nothing in it, removes) a top-level role's quota.
   * Throws QuotaError, changing nothing, when it is invalid.
   */
  updateQuota(role: string, quota: Quota | undefined): void {
    const q = quota ?? {};
    const { guarantee, limit } = validateQuota(role, q);
    for (const name of [...Object.keys(guarantee), ...Object.keys(limit)]) {
      if (this.reg.isRangedName(name)) {
        throw new QuotaError(
          `quota for role "${role}" names ${name}, which agents hold as ranges; quota applies to scalar resources only`,
        );
      }
    }
    const node = this.tree.node(role);
    if (Object.keys(guarantee).length === 0 && Object.keys(limit).length === 0) {
      node.quota = null;
      this.quotaRoles.delete(role);
      this.quotaInput.delete(role);
      this.tree.prune(node);
    } else {
      const g: (number | undefined)[] = [];
      const l: (number | undefined)[] = [];
      for (const [n, x] of Object.entries(guarantee)) g[this.reg.name(n)] = toMilli(x);
      for (const [n, x] of Object.entries(limit)) l[this.reg.name(n)] = toMilli(x);
      node.quota = {
        guarantee: g,
        limit: l,
        guaranteed: Object.keys(guarantee).map((n) => this.reg.name(n)),
      };
      this.quotaRoles.set(role, node);
      const list = (amounts: Record<string, number>): Resources =>
        Object.keys(amounts)
          .sort()
          .map((name) => ({ name, scalar: amounts[name] }));
      this.quotaInput.set(role, { guarantee: list(guarantee), limit: list(limit) });
    }
    this.quotaEpoch++;
    this.candidateEpoch++;
  }

  /** quotas returns the configured quotas by role. */
  quotas(): Record<string, Quota> {
    return Object.fromEntries(this.quotaInput);
  }

  // ---------------------------------------------------------------- the allocation run

  /**
   * allocate makes one allocation run at time `now` and returns the offers to make; what it
   * returns is offered until the master recovers or uses it. Roles with unmet quota guarantees
   * are served first over all agents; then every role by weighted DRF, each level of the role tree
   * in turn, frameworks inside a role by their share there.
   */
  allocate(now: number): Allocation[] {
    const t0 = this.timer?.();
    this.filterBook.purge(now, this.agentList);
    this.order.prepare(this.tree.root);
    const guarantee = this.hasUnmetGuarantee();
    const epochs = { candidates: this.candidateEpoch, quota: this.quotaEpoch, bits: this.bitsEpoch };
    const partial = mayRunPartially(this.partial, epochs, now, guarantee);
    const order = partial ? [...this.dirty] : this.agentList.slice();
    // Agents charged during this run (offers made) are dirty again for the next.
    this.dirty.clear();
    if (!partial) this.partial = { ...epochs, until: Number.POSITIVE_INFINITY };
    if (this.agentOrder === 'random') shuffleInPlace(order, this.random);
    const out: Allocation[] = [];
    this.cycle = { until: Number.POSITIVE_INFINITY, made: 0, merge: null, out };
    let visited = 0;
    // A partial run passes over the agents it does not list: nothing changed for them.
    let skipped = this.agentList.length - order.length;
    if (guarantee) {
      this.cycle.merge = new Map();
      for (const agent of order) this.guaranteeStage(agent, now);
    }
    for (const agent of order) {
      if (!this.allocatable(this.available(agent))) continue;
      if (
        agent.skipVersion === agent.version &&
        agent.skipCandidates === this.candidateEpoch &&
        agent.skipQuota === this.quotaEpoch &&
        now < agent.skipUntil
      ) {
        if (agent.skipUntil < this.partial.until) this.partial.until = agent.skipUntil;
        skipped++;
        continue;
      }
      visited++;
      this.cycle.until = Number.POSITIVE_INFINITY;
      this.cycle.made = 0;
      this.visitRole(this.tree.root, agent, now, FAIR);
      this.order.flush();
      if (this.cycle.made === 0) {
        agent.skipVersion = agent.version;
        agent.skipCandidates = this.candidateEpoch;
        agent.skipQuota = this.quotaEpoch;
        agent.skipUntil = this.cycle.until;
        if (this.cycle.until < this.partial.until) this.partial.until = this.cycle.until;
      }
    }
    this.runs++;
    const ms = t0 === undefined || !this.timer ? undefined : this.timer() - t0;
    if (ms !== undefined) this.runTimes.push(ms);
    this.lastRun = { ms, offers: out.length, visited, skipped };
    return out;
  }

  private guaranteeStage(agent: AgentState, now: number): void {
    if (!this.allocatable(this.available(agent))) return;
    for (const block of this.tree.root.kids.blocks) {
      for (const k of block) {
        if (k.leaf || k.quota === null || k.eligible === 0 || !this.hasUnmet(k)) continue;
        if (this.visitRole(k, agent, now, GUARANTEE)) {
          this.order.flush();
          return;
        }
      }
    }
    this.order.flush();
  }

  /** visitRole walks a role's children in DRF order; true when the agent has nothing left to offer. */
  private visitRole(node: RoleNode, agent: AgentState, now: number, stage: Stage): boolean {
    const blocks = node.kids.blocks;
    for (let b = 0; b < blocks.length; b++) {
      const items = blocks[b];
      for (let i = 0; i < items.length; i++) {
        const k = items[i];
        if (k.eligible === 0) continue;
        if (k.leaf ? this.visitFrameworks(k.node, agent, now, stage) : this.visitRole(k, agent, now, stage))
          return true;
      }
    }
    return false;
  }

  private visitFrameworks(node: RoleNode, agent: AgentState, now: number, stage: Stage): boolean {
    let offer = this.offerFor(agent, node, stage);
    if (offer === null) return !this.allocatable(this.available(agent));
    let bits = agent.filters === null ? null : this.filterBits(agent, now);
    const blocks = node.frameworks.blocks;
    for (let b = 0; b < blocks.length; b++) {
      const frs = blocks[b];
      for (let i = 0; i < frs.length; i++) {
        const fr = frs[i];
        if (!fr.eligible || (agent.hasGpus && !fr.fw.gpu)) continue;
        if (bits !== null) {
          const d = fr.dense;
          if ((bits[d >>> 5] & (1 << (d & 31))) !== 0) {
            if (agent.fbitsUntil < this.cycle.until) this.cycle.until = agent.fbitsUntil;
            continue;
          }
          const until = this.filterBook.blockedUntil(agent, fr, offer, now);
          if (until !== undefined) {
            if (until < this.cycle.until) this.cycle.until = until;
            if (offer === agent.fbitsFor) bits = this.setFilterBit(agent, bits, d, until);
            continue;
          }
        }
        this.give(agent, fr, offer);
        if (!this.allocatable(this.available(agent))) return true;
        offer = this.offerFor(agent, node, stage);
        if (offer === null) return false;
        if (bits !== null) bits = this.filterBits(agent, now);
      }
    }
    return false;
  }

  /** filterBits returns the agent's filter bitset, cleared if it no longer matches. */
  private filterBits(agent: AgentState, now: number): Uint32Array {
    const avail = this.available(agent);
    let bits = agent.fbits;
    if (
      bits === null ||
      agent.fbitsFor !== avail ||
      agent.fbitsEpoch !== this.bitsEpoch ||
      now >= agent.fbitsUntil
    ) {
      if (bits === null) bits = agent.fbits = new Uint32Array((this.denseNext >>> 5) + 1);
      else bits.fill(0);
      agent.fbitsFor = avail;
      agent.fbitsEpoch = this.bitsEpoch;
      agent.fbitsUntil = Number.POSITIVE_INFINITY;
    }
    return bits;
  }

  private setFilterBit(agent: AgentState, bits: Uint32Array, d: number, until: number): Uint32Array {
    let out = bits;
    if (d >>> 5 >= out.length) {
      out = new Uint32Array((this.denseNext >>> 5) + 1);
      out.set(bits);
      agent.fbits = out;
    }
    out[d >>> 5] |= 1 << (d & 31);
    if (until < agent.fbitsUntil) agent.fbitsUntil = until;
    return out;
  }

  private give(agent: AgentState, fr: FrameworkRole, offer: Bundle): void {
    this.charge(agent, fr, offer, 'offered', 1);
    this.cycle.made++;
    const a: Allocation = {
      frameworkId: fr.fw.id,
      role: fr.node.name,
      agentId: agent.id,
      resources: toResources(offer),
    };
    const merge = this.cycle.merge;
    if (merge) {
      const key = `${fr.fw.id}\u0000${fr.node.name}\u0000${agent.id}`;
      const at = merge.get(key);
      if (at !== undefined) {
        const prev = this.cycle.out[at];
        prev.resources = R.add(prev.resources, a.resources);
        return;
      }
      merge.set(key, this.cycle.out.length);
    }
    this.cycle.out.push(a);
  }

  /** offerFor is what the agent can offer a role now: usable by it, within quota, allocatable; or null. */
  private offerFor(agent: AgentState, node: RoleNode, stage: Stage): Bundle | null {
    const avail = this.available(agent);
    let b = avail.reserved ? usableBy(avail, node.name) : avail;
    if (b.isEmpty) return null;
    if (this.quotaRoles.size > 0) {
      const chopped = quotaCut(b, node.top, stage === GUARANTEE, {
        names: this.reg.names.length,
        unreservedTotal: this.unreservedTotal,
        allocUnreserved: this.allocUnreserved,
        required: this.requiredHeadroom(),
      });
      if (chopped === null) return null;
      b = chopped;
    }
    return this.allocatable(b) ? b : null;
  }

  private hasUnmet(top: RoleNode): boolean {
    return unmetGuarantee(top).some((x) => x > 0);
  }

  private hasUnmetGuarantee(): boolean {
    for (const node of this.quotaRoles.values()) if (node.eligible > 0 && this.hasUnmet(node)) return true;
    return false;
  }

  private requiredHeadroom(): number[] {
    if (this.headroomCache.epoch !== this.quotaEpoch) {
      this.headroomCache = { epoch: this.quotaEpoch, required: requiredHeadroom(this.quotaRoles.values()) };
    }
    return this.headroomCache.required;
  }

  // ---------------------------------------------------------------- reading

  /** metrics reports counters and gauges; with `now`, expired filters are dropped first. */
  metrics(now?: number): AllocatorMetrics {
    if (now !== undefined) this.filterBook.purge(now, this.agentList);
    const roleShares: Record<string, number> = {};
    for (const node of this.tree.roles()) {
      if (node.members === 0 && node.alloc.every((x) => !x)) continue;
      roleShares[node.name] = this.order.dominant(node.alloc);
    }
    const offered: Record<string, number> = {};
    this.offeredByName.forEach((x, n) => {
      if (x) offered[this.reg.names[n]] = x / 1000;
    });
    const times = this.runTimes.values();
    return {
      allocationRuns: this.runs,
      lastAllocationRunMs: this.lastRun.ms,
      allocationRunMsP50: times.length ? percentile(times, 50) : undefined,
      allocationRunMsP99: times.length ? percentile(times, 99) : undefined,
      lastRunOffers: this.lastRun.offers,
      lastRunAgentsVisited: this.lastRun.visited,
      lastRunAgentsSkipped: this.lastRun.skipped,
      agents: this.agents.size,
      frameworks: [...this.frameworks.values()].filter((f) => !f.placeholder).length,
      roleShares,
      offered,
      outstandingOffers: this.outstanding,
      activeFilters: this.filterBook.count,
    };
  }

  /** suppressedRoles lists the roles a framework has suppressed, sorted; none for an unknown one. */
  suppressedRoles(frameworkId: string): string[] {
    const fw = this.frameworks.get(frameworkId);
    if (!fw) return [];
    return [...fw.frs.values()]
      .filter((fr) => fr.subscribed && fr.suppressed)
      .map((fr) => fr.node.name)
      .sort();
  }

  /** agentAllocations tells what the allocator tracks on one agent, or undefined for an unknown one. */
  agentAllocations(agentId: string): AgentAllocations | undefined {
    const agent = this.agents.get(agentId);
    if (!agent) return undefined;
    const list = (kind: 'offered' | 'used'): Holding[] =>
      agent.holdings
        .filter((h) => !h[kind].isEmpty)
        .map((h) => ({ frameworkId: h.fr.fw.id, role: h.fr.node.name, resources: toResources(h[kind]) }));
    return {
      agentId,
      total: toResources(agent.total),
      available: toResources(this.available(agent)),
      offered: list('offered'),
      used: list('used'),
    };
  }

  /** roleShare is a role's weighted dominant share (its subtree's allocation / total, over its weight). */
  roleShare(role: string): number {
    const node = this.tree.get(role);
    return node ? this.order.dominant(node.alloc) / node.weight : 0;
  }

  /** frameworkShare is a framework's dominant share within one role. */
  frameworkShare(frameworkId: string, role: string): number {
    const fr = this.frameworks.get(frameworkId)?.frs.get(role);
    return fr ? this.order.dominant(fr.alloc) : 0;
  }

  // ---------------------------------------------------------------- bookkeeping

  private agent(agentId: string): AgentState {
    const agent = this.agents.get(agentId);
    if (!agent) throw new AllocatorStateError(`agent ${agentId} is not known to the allocator`);
    return agent;
  }

  private available(agent: AgentState): Bundle {
    if (agent.avail) return agent.avail;
    if (!agent.free) agent.free = subtract(agent.total, agent.used);
    agent.avail = agent.offered.isEmpty ? agent.free : subtract(agent.free, agent.offered);
    return agent.avail;
  }

  private allocatable(b: Bundle): boolean {
    if (b.allocatable !== undefined) return b.allocatable;
    let ok = false;
    if (!b.isEmpty) {
      const have: number[] = [];
      addByName(have, b, 1);
      ok = this.minimums.some((min) => min.every(([n, x]) => (have[n] ?? 0) >= x));
    }
    b.allocatable = ok;
    return ok;
  }

  /** charge adds (sign 1) or removes (-1) a bundle from what a (framework, role) holds on an agent. */
  private charge(
    agent: AgentState,
    fr: FrameworkRole,
    b: Bundle,
    kind: 'offered' | 'used',
    sign: 1 | -1,
  ): void {
    if (b.isEmpty) return;
    let h = agent.holding(fr);
    if (!h) {
      if (sign < 0) return;
      h = { fr, offered: EMPTY, used: EMPTY };
      agent.holdings.push(h);
      fr.holdingCount++;
    }
    if (kind === 'offered') {
      const had = !h.offered.isEmpty;
      h.offered = sign > 0 ? add(h.offered, b) : subtract(h.offered, b);
      agent.offered = sign > 0 ? add(agent.offered, b) : subtract(agent.offered, b);
      this.outstanding += (h.offered.isEmpty ? 0 : 1) - (had ? 1 : 0);
      addByName(this.offeredByName, b, sign);
    } else {
      h.used = sign > 0 ? add(h.used, b) : subtract(h.used, b);
      agent.used = sign > 0 ? add(agent.used, b) : subtract(agent.used, b);
      agent.free = null;
    }
    if (h.offered.isEmpty && h.used.isEmpty) {
      const hs = agent.holdings;
      const i = hs.indexOf(h);
      hs[i] = hs[hs.length - 1];
      hs.pop();
      fr.holdingCount--;
    }
    agent.avail = null;
    agent.version++;
    this.dirty.add(agent);
    const counted = sign > 0 && kind === 'offered' ? 1 : 0;
    addByName(fr.alloc, b, sign);
    fr.count += counted;
    const node = fr.node;
    addByName(node.self.alloc, b, sign);
    node.self.count += counted;
    for (let n: RoleNode = node; n.parent; n = n.parent) {
      addByName(n.alloc, b, sign);
      if (b.reserved) addByName(n.allocReserved, b, sign, true);
      n.count += counted;
    }
    addByName(this.allocUnreserved, b, sign, false, true);
    if (this.quotaRoles.size > 0) this.quotaEpoch++;
    this.order.touch(fr);
  }

  private addTotals(agent: AgentState, b: Bundle, sign: 1 | -1): void {
    addByName(this.order.total, b, sign);
    addByName(this.unreservedTotal, b, sign, false, true);
    let gpus = 0;
    for (let i = 0; i < b.slots.length; i++) {
      const s = b.slots[i];
      if (s.ranged) continue;
      if (s.name === 'gpus') gpus += b.amounts[i];
      if (s.reserved) {
        const top = this.tree.node(s.role).top;
        top.reservedTotal[s.nameIdx] = (top.reservedTotal[s.nameIdx] ?? 0) + sign * b.amounts[i];
      }
    }
    if (sign > 0) agent.hasGpus = gpus > 0;
    this.order.stale = true;
    // Totals move quota headroom; without quota an agent's coming or going changes no other's offers.
    if (this.quotaRoles.size > 0) this.quotaEpoch++;
  }

  private setActive(frameworkId: string, active: boolean): void {
    const fw = this.frameworks.get(frameworkId);
    if (!fw || fw.placeholder) return;
    fw.active = active;
    for (const fr of fw.frs.values()) this.updateEligible(fr);
  }

  private rolesOf(fw: FrameworkState, roles: readonly string[] | undefined): FrameworkRole[] {
    const all = [...fw.frs.values()].filter((fr) => fr.subscribed);
    return roles?.length ? all.filter((fr) => roles.includes(fr.node.name)) : all;
  }

  private updateEligible(fr: FrameworkRole): void {
    if (this.tree.setEligible(fr, fr.fw.active && fr.subscribed && !fr.suppressed)) this.candidateEpoch++;
  }

  private frameworkRole(fw: FrameworkState, role: string): FrameworkRole {
    const fr = new FrameworkRole(
      fw,
      this.tree.node(role),
      ++this.frKeys,
      this.denseFree.pop() ?? this.denseNext++,
    );
    fw.frs.set(role, fr);
    this.tree.attach(fr);
    return fr;
  }

  /** dropIfIdle forgets a (framework, role) that is not subscribed and holds nothing. */
  private dropIfIdle(fr: FrameworkRole): void {
    if (fr.subscribed || fr.holdingCount > 0 || fr.eligible) return;
    if (fr.fw.frs.get(fr.node.name) !== fr) return;
    this.dropFilters(fr);
    this.denseFree.push(fr.dense);
    fr.fw.frs.delete(fr.node.name);
    this.tree.detach(fr);
  }

  private dropFilters(fr: FrameworkRole): void {
    this.filterBook.dropOwner(fr);
    this.bitsEpoch++;
  }
}
