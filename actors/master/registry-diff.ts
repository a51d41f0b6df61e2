import { AgentStatus, FrameworkStatus, resources as R } from '../../protocol/index.js';
import {
  applyRegistryOps,
  type Registry,
  type RegistryAgent,
  RegistryAgentStatus,
  type RegistryOp,
} from './registry.js';
import type { AgentRecord, MasterState } from './state.js';

/**
 * RegistryScope says which parts of the master's state an event may have changed, so that the
 * diff looks only there: the hot paths (status updates, launches) never diff at all, and an
 * agent's REGISTER compares one agent, not ten thousand.
 */
export interface RegistryScope {
  agents?: readonly string[] | 'all';
  frameworks?: readonly string[] | 'all';
  /** Weights and quota. */
  roles?: boolean;
}

/**
 * same compares two plain values (what zod parsed: objects, arrays, strings, numbers, booleans) by
 * content, stopping at the first difference, without serializing them: the master compares an
 * agent's info on every re-registration, ten thousand of them after a failover.
 */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let n = 0;
  for (const k in ra) {
    if (ra[k] === undefined) continue;
    n++;
    if (!same(ra[k], rb[k])) return false;
  }
  for (const k in rb) if (rb[k] !== undefined) n--;
  return n === 0;
}

/** agentStanding is what the registry should say of an agent record (undefined: not in it). */
function agentStanding(rec: AgentRecord): RegistryAgentStatus | undefined {
  if (rec.gone) return RegistryAgentStatus.GONE;
  if (rec.status === AgentStatus.ACTIVE) return RegistryAgentStatus.ACTIVE;
  if (rec.status === AgentStatus.UNREACHABLE) return RegistryAgentStatus.UNREACHABLE;
  return undefined;
}

function agentOps(prev: RegistryAgent | undefined, rec: AgentRecord | undefined, now: number): RegistryOp[] {
  const standing = rec ? agentStanding(rec) : undefined;
  if (!rec || !standing) return prev ? [{ type: 'AGENT_REMOVED', agentId: prev.info.id }] : [];
  const id = rec.info.id;
  const ops: RegistryOp[] = [];
  const admit = () => ops.push({ type: 'AGENT_ADMITTED', agent: rec.info, total: rec.total });
  if (!prev || (standing === RegistryAgentStatus.ACTIVE && prev.status !== RegistryAgentStatus.ACTIVE))
    admit();
  else if (prev.info !== rec.info && !same(prev.info, rec.info)) admit();
  else if (prev.total !== rec.total && !R.equals(prev.total, rec.total))
    ops.push({ type: 'AGENT_RESOURCES', agentId: id, total: rec.total });
  if (standing === RegistryAgentStatus.UNREACHABLE && prev?.status !== RegistryAgentStatus.UNREACHABLE)
    ops.push({ type: 'AGENT_UNREACHABLE', agentId: id, since: Math.max(0, Math.round(now)) });
  if (standing === RegistryAgentStatus.GONE && prev?.status !== RegistryAgentStatus.GONE)
    ops.push({ type: 'AGENT_GONE', agentId: id });
  return ops;
}

/**
 * registryDiff lists the ops that bring the registry in step with the master's state within
 * `scope`. Agents in `state.recovering` (known from the registry, not re-registered since the
 * failover) are left as the registry has them.
 */
export function registryDiff(
  reg: Registry,
  state: MasterState,
  scope: RegistryScope,
  now: number,
): RegistryOp[] {
  const ops: RegistryOp[] = [];
  const recovering = state.recovering;
  if (scope.agents) {
    const ids =
      scope.agents === 'all' ? new Set([...reg.agents.keys(), ...state.agents.keys()]) : scope.agents;
    for (const id of ids) {
      if (recovering?.has(id)) continue;
      ops.push(...agentOps(reg.agents.get(id), state.agents.get(id), now));
    }
  }
  if (scope.frameworks) {
    const ids =
      scope.frameworks === 'all'
        ? new Set([...reg.frameworks.keys(), ...state.frameworks.keys()])
        : scope.frameworks;
    for (const id of ids) {
      const fw = state.frameworks.get(id);
      const live = fw && fw.status !== FrameworkStatus.REMOVED ? fw : undefined;
      const prev = reg.frameworks.get(id);
      if (live && prev !== live.info && !same(prev, live.info))
        ops.push({ type: 'FRAMEWORK_ADDED', framework: live.info });
      else if (!live && prev) ops.push({ type: 'FRAMEWORK_REMOVED', frameworkId: id });
    }
  }
  if (scope.roles) {
    const weights = state.allocator.weights();
    if (!same(sorted(weights), sorted(reg.weights))) ops.push({ type: 'WEIGHTS_SET', weights });
    const quotas = state.allocator.quotas();
    for (const [role, q] of Object.entries(quotas)) {
      const quota = { guarantee: q.guarantee ?? [], limit: q.limit ?? [] };
      if (!same(quota, reg.quotas[role])) ops.push({ type: 'QUOTA_SET', role, quota });
    }
    for (const role of Object.keys(reg.quotas))
      if (!(role in quotas)) ops.push({ type: 'QUOTA_SET', role, quota: null });
  }
  return ops;
}

function sorted(r: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** applyAll folds ops into a registry (each table copied at most once). */
export function applyAll(
  reg: Registry,
  ops: readonly RegistryOp[],
  onUnknown?: (type: string) => void,
): Registry {
  return applyRegistryOps(reg, ops, onUnknown);
}

/**
 * heldByPendingWrite says whether a change in `scope` that needs no write of its own (`sent`, the
 * registry with every write sent applied, already holds it) is still only in a write the store
 * has not acknowledged (`durable` lacks it): its caller must then wait for that write, and fail
 * with it, rather than be acknowledged at once.
 */
export function heldByPendingWrite(
  durable: Registry,
  sent: Registry,
  state: MasterState,
  scope: RegistryScope,
  now: number,
): boolean {
  return durable !== sent && registryDiff(durable, state, scope, now).length > 0;
}
