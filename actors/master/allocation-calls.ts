import {
  AgentStatus,
  FrameworkStatus,
  type OperatorCall,
  type OperatorResult,
  resources as R,
  type RoleQuota,
  type RoleView,
  type RoleWeight,
} from '../../protocol/index.js';
import {
  AllocatorError,
  AllocatorStateError,
  type ReservationOp,
  validateReservation,
} from './allocator/index.js';
import { rescindOffer } from './bookkeeping.js';
import { type Effect, MasterError, type Outcome } from './effects.js';
import { type MasterState, taskKey } from './state.js';

type Call<T extends OperatorCall['type']> = Extract<OperatorCall, { type: T }>;

/**
 * The operator calls that tune the allocator (weights, quota, reservations) and read it (roles).
 * Each validates before it changes anything: a refused call leaves the master as it was.
 */

/** refused turns the allocator's named errors (QuotaError, WeightError, ReservationError) into BAD_REQUEST. */
function refused<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof AllocatorError && !(err instanceof AllocatorStateError)) {
      throw new MasterError('BAD_REQUEST', err.message, { cause: err });
    }
    throw err;
  }
}

function weightList(state: MasterState): RoleWeight[] {
  return Object.entries(state.allocator.weights())
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([role, weight]) => ({ role, weight }));
}

function quotaList(state: MasterState): RoleQuota[] {
  return Object.entries(state.allocator.quotas())
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([role, q]) => ({ role, guarantee: q.guarantee ?? [], limit: q.limit ?? [] }));
}

/** getWeights answers GET_WEIGHTS: the roles whose weight was set, by name. */
export function getWeights(state: MasterState): OperatorResult<'GET_WEIGHTS'> {
  return { weights: weightList(state) };
}

/** updateWeights sets role weights, all or none; an allocation run follows. */
export function updateWeights(
  state: MasterState,
  call: Call<'UPDATE_WEIGHTS'>,
): Outcome<OperatorResult<'UPDATE_WEIGHTS'>> {
  const weights: Record<string, number> = {};
  for (const { role, weight } of call.weights) weights[role] = weight;
  refused(() => state.allocator.updateWeights(weights));
  return { result: { weights: weightList(state) }, effects: [{ kind: 'allocate' }] };
}

/** getQuota answers GET_QUOTA: every role with a quota. */
export function getQuota(state: MasterState): OperatorResult<'GET_QUOTA'> {
  return { quotas: quotaList(state) };
}

/** updateQuota sets a top-level role's quota, or removes it when it names no amounts. */
export function updateQuota(
  state: MasterState,
  call: Call<'UPDATE_QUOTA'>,
): Outcome<OperatorResult<'UPDATE_QUOTA'>> {
  const none = !call.guarantee?.length && !call.limit?.length;
  refused(() =>
    state.allocator.updateQuota(
      call.role,
      none ? undefined : { guarantee: call.guarantee, limit: call.limit },
    ),
  );
  return { result: { quotas: quotaList(state) }, effects: [{ kind: 'allocate' }] };
}

/**
 * changeReservation applies an operator's RESERVE_RESOURCES or UNRESERVE_RESOURCES to an active
 * agent and keeps the new total on its record. When resources it needs are in outstanding offers,
 * offers on the agent are rescinded one by one, those holding resources of the roles named first,
 * until they are free (as Mesos does); resources used by tasks are never touched. A change that
 * could not apply even with every offer rescinded is refused before anything moves.
 */
export function changeReservation(
  state: MasterState,
  call: Call<'RESERVE_RESOURCES'> | Call<'UNRESERVE_RESOURCES'>,
): Outcome<OperatorResult<'RESERVE_RESOURCES'>> {
  const agent = state.agents.get(call.agentId);
  const tracked = state.allocator.agentAllocations(call.agentId);
  if (!agent || agent.status !== AgentStatus.ACTIVE || !tracked) {
    throw new MasterError('NOT_FOUND', `no active agent ${call.agentId}`);
  }
  const op: ReservationOp = {
    type: call.type === 'RESERVE_RESOURCES' ? 'RESERVE' : 'UNRESERVE',
    resources: call.resources,
  };
  const unused = tracked.used.reduce((left, h) => R.subtract(left, h.resources), tracked.total);
  const err = validateReservation(unused, op);
  if (err) throw new MasterError('BAD_REQUEST', `agent ${call.agentId}: ${err.message}`, { cause: err });
  const effects: Effect[] = [];
  const roles = new Set(op.resources.map((r) => (op.type === 'RESERVE' ? '*' : (r.role ?? '*'))));
  const holdsNamed = (id: string) =>
    state.offers.get(id)?.offer.resources.some((r) => roles.has(r.role ?? '*')) ? 0 : 1;
  const offers = [...agent.offers].sort((a, b) => holdsNamed(a) - holdsNamed(b));
  for (const offerId of offers) {
    const available = state.allocator.agentAllocations(call.agentId)?.available ?? [];
    if (!validateReservation(available, op)) break;
    effects.push(...rescindOffer(state, offerId));
  }
  agent.total = refused(() => state.allocator.updateReservation(call.agentId, op));
  effects.push({ kind: 'allocate' });
  return { result: { agentId: call.agentId, total: agent.total }, effects };
}

/**
 * getRoles answers GET_ROLES for every role that has a weight or quota, frameworks, tasks,
 * offers or reservations. `allocated` is, as in Mesos, used plus offered.
 */
export function getRoles(state: MasterState, now: number): OperatorResult<'GET_ROLES'> {
  const a = state.allocator;
  const weights = a.weights();
  const quotas = a.quotas();
  const shares = a.metrics(now).roleShares;
  const names = new Set<string>([...Object.keys(weights), ...Object.keys(quotas)]);
  const members = new Map<string, string[]>();
  const used = new Map<string, R.Resources>();
  const offered = new Map<string, R.Resources>();
  const charge = (m: Map<string, R.Resources>, role: string, rs: R.Resources) =>
    m.set(role, R.add(m.get(role) ?? [], rs));
  for (const fw of state.frameworks.values()) {
    if (fw.status === FrameworkStatus.REMOVED) continue;
    for (const role of fw.info.roles) {
      names.add(role);
      members.set(role, [...(members.get(role) ?? []), fw.info.id]);
    }
    for (const t of fw.tasks.values()) {
      if (!state.agents.get(t.agentId)?.tasks.has(taskKey(t.frameworkId, t.info.taskId))) continue;
      names.add(t.role);
      charge(used, t.role, t.info.resources);
    }
  }
  for (const { offer } of state.offers.values()) {
    names.add(offer.role);
    charge(offered, offer.role, offer.resources);
  }
  for (const agent of state.agents.values()) {
    if (agent.status !== AgentStatus.ACTIVE) continue;
    for (const r of agent.total) if (r.role && r.role !== '*') names.add(r.role);
  }
  const roles: RoleView[] = [...names].sort().map((role) => {
    const q = quotas[role];
    const off = offered.get(role) ?? [];
    return {
      role,
      weight: weights[role] ?? 1,
      ...(q ? { quota: { guarantee: q.guarantee ?? [], limit: q.limit ?? [] } } : {}),
      allocated: R.add(used.get(role) ?? [], off),
      offered: off,
      dominantShare: shares[role] ?? 0,
      weightedShare: a.roleShare(role),
      frameworks: (members.get(role) ?? []).sort(),
    };
  });
  return { roles };
}
