import type { DrfOrder } from './drf-order.js';
import { type FrameworkRole, RoleNode } from './records.js';

const isZero = (v: readonly number[]): boolean => v.every((x) => !x);

/**
 * RoleTree holds the roles that `/` nests (`eng` above `eng/backend`), their weights and the
 * counts that let a run skip subtrees with nobody to offer to. Roles appear when a framework,
 * a reservation, a weight or a quota names them, and go when nothing does any more.
 */
export class RoleTree {
  readonly root = new RoleNode('', null);
  private readonly nodes = new Map<string, RoleNode>([['', this.root]]);
  private readonly weights = new Map<string, number>();

  constructor(private readonly order: DrfOrder) {}

  /** get returns a role's node if it exists. */
  get(role: string): RoleNode | undefined {
    return this.nodes.get(role);
  }

  /** node returns a role's node, creating it and its ancestors. */
  node(role: string): RoleNode {
    const found = this.nodes.get(role);
    if (found) return found;
    const slash = role.lastIndexOf('/');
    const parent = slash < 0 ? this.root : this.node(role.slice(0, slash));
    const node = new RoleNode(role, parent);
    node.weight = this.weights.get(role) ?? 1;
    parent.children.set(role, node);
    parent.kids.add(node);
    this.nodes.set(role, node);
    this.order.stale = true;
    return node;
  }

  /** roles lists every role but the root. */
  *roles(): Iterable<RoleNode> {
    for (const node of this.nodes.values()) if (node !== this.root) yield node;
  }

  /** setWeight sets a role's weight (validated by the caller). */
  setWeight(role: string, weight: number): void {
    this.weights.set(role, weight);
    const node = this.nodes.get(role);
    if (node) node.weight = weight;
    this.order.stale = true;
  }

  /** weightsRecord returns the configured weights. */
  weightsRecord(): Record<string, number> {
    return Object.fromEntries(this.weights);
  }

  /** attach puts a new (framework, role) into its role. */
  attach(fr: FrameworkRole): void {
    for (let n: RoleNode | null = fr.node; n; n = n.parent) n.members++;
    fr.node.frameworks.add(fr);
    this.order.stale = true;
  }

  /** detach takes a (framework, role) out of its role and prunes what is left empty. */
  detach(fr: FrameworkRole): void {
    fr.node.frameworks.remove(fr);
    for (let n: RoleNode | null = fr.node; n; n = n.parent) n.members--;
    this.prune(fr.node);
  }

  /** setEligible records whether a (framework, role) may be offered now; true when it newly may. */
  setEligible(fr: FrameworkRole, eligible: boolean): boolean {
    if (eligible === fr.eligible) return false;
    fr.eligible = eligible;
    const d = eligible ? 1 : -1;
    fr.node.self.eligible += d;
    for (let n: RoleNode | null = fr.node; n; n = n.parent) n.eligible += d;
    return eligible;
  }

  /** prune removes a role and its ancestors while nothing refers to them. */
  prune(node: RoleNode): void {
    for (let n: RoleNode = node; n.parent; ) {
      const parent: RoleNode = n.parent;
      const idle =
        n.members === 0 &&
        n.children.size === 0 &&
        n.quota === null &&
        !this.weights.has(n.name) &&
        isZero(n.alloc) &&
        isZero(n.reservedTotal);
      if (!idle) return;
      parent.children.delete(n.name);
      parent.kids.remove(n);
      this.nodes.delete(n.name);
      n = parent;
    }
  }
}
