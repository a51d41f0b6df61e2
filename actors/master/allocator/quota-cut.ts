import { type Bundle, chop } from './bundle.js';
import type { RoleNode } from './records.js';

/** Headroom is the cluster's unreserved scalars by name (thousandths) and what unmet guarantees need of them. */
export interface Headroom {
  /** How many resource names there are. */
  names: number;
  unreservedTotal: readonly number[];
  allocUnreserved: readonly number[];
  /** The sum of every quota role's unmet guarantee. */
  required: readonly number[];
}

/**
 * unmetGuarantee is what a top-level role's guarantee still lacks, by name: the guarantee less
 * what it consumes, which is its allocation plus its reservations, allocated or not.
 */
export function unmetGuarantee(top: RoleNode): number[] {
  const out: number[] = [];
  const q = top.quota;
  if (!q) return out;
  for (const n of q.guaranteed) {
    const consumed = (top.alloc[n] ?? 0) - (top.allocReserved[n] ?? 0) + (top.reservedTotal[n] ?? 0);
    out[n] = Math.max(0, (q.guarantee[n] ?? 0) - consumed);
  }
  return out;
}

/** requiredHeadroom sums the unmet guarantees of the quota roles, by name. */
export function requiredHeadroom(quotaRoles: Iterable<RoleNode>): number[] {
  const required: number[] = [];
  for (const node of quotaRoles) {
    unmetGuarantee(node).forEach((x, n) => {
      required[n] = (required[n] ?? 0) + (x ?? 0);
    });
  }
  return required;
}

/**
 * quotaCut cuts what an agent could offer a role in the top-level role `top` to the quota rules:
 * reservations and unreserved scalars stay under the role's limit (its whole subtree, offered and
 * used); unreserved scalars leave the headroom that other roles' unmet guarantees need. In the
 * guarantee stage, unreserved scalars that the guarantee names are cut to what it still lacks,
 * and the offer must make progress on it (or hold reservations), else it is null. Ranges pass
 * whole: quota is on scalars.
 */
export function quotaCut(b: Bundle, top: RoleNode, guaranteeStage: boolean, h: Headroom): Bundle | null {
  const q = top.quota;
  const own = q ? unmetGuarantee(top) : [];
  const room: number[] = [];
  const cap: number[] = [];
  for (let n = 0; n < h.names; n++) {
    const limit = q?.limit[n];
    room[n] = limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, limit - (top.alloc[n] ?? 0));
    const req = h.required[n] ?? 0;
    const mine = own[n] ?? 0;
    const free = (h.unreservedTotal[n] ?? 0) - (h.allocUnreserved[n] ?? 0);
    const leftForOthers = req > 0 ? Math.max(0, free - (req - mine)) : Number.POSITIVE_INFINITY;
    cap[n] = guaranteeStage && q?.guarantee[n] !== undefined ? mine : leftForOthers;
  }
  let progress = false;
  const reservedCut = chop(b, (s, x) => {
    if (!s.reserved) return x;
    const t = Math.min(x, room[s.nameIdx]);
    room[s.nameIdx] -= t;
    if (t > 0) progress = true;
    return t;
  });
  const cut = chop(reservedCut, (s, x) => {
    if (s.reserved) return x;
    const t = Math.min(x, room[s.nameIdx], cap[s.nameIdx]);
    room[s.nameIdx] -= t;
    cap[s.nameIdx] -= t;
    if (t > 0 && (own[s.nameIdx] ?? 0) > 0) progress = true;
    return t;
  });
  if (cut.isEmpty || (guaranteeStage && !progress)) return null;
  return cut;
}
