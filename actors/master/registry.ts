import { z } from 'zod';
import {
  AgentInfo,
  FrameworkInfo,
  Id,
  resources as R,
  type Resources,
  RoleName,
} from '../../protocol/index.js';

const ResourceList = R.Resources;

/**
 * The registry is what must survive a master failover, as in Mesos: the agents admitted (and
 * which are unreachable or gone), the frameworks and their failover timeouts, role weights,
 * quota, the dynamic reservations (kept in each agent's `total`) and maintenance modes. Tasks and
 * offers are not in it: a new leader rebuilds them from agents re-registering and frameworks
 * resubscribing. It changes only through `applyRegistryOp`, a pure function; the leader
 * persists each op before it acknowledges the change it records.
 */

/** RegistryAgentStatus is an admitted agent's standing. */
export const RegistryAgentStatus = { ACTIVE: 'ACTIVE', UNREACHABLE: 'UNREACHABLE', GONE: 'GONE' } as const;
export type RegistryAgentStatus = (typeof RegistryAgentStatus)[keyof typeof RegistryAgentStatus];

/** MaintenanceMode is an agent's maintenance state (Mesos: UP, DRAINING, DOWN). */
export const MaintenanceMode = { UP: 'UP', DRAINING: 'DRAINING', DOWN: 'DOWN' } as const;
export type MaintenanceMode = (typeof MaintenanceMode)[keyof typeof MaintenanceMode];

/** RegistryAgent is one admitted agent. */
export interface RegistryAgent {
  info: AgentInfo;
  /** Its resources with the dynamic reservations made on it. */
  total: Resources;
  status: RegistryAgentStatus;
  /** When it became unreachable (ms since the epoch). */
  unreachableSince?: number;
}

/** RegistryQuota is a role's quota as stored. */
export interface RegistryQuota {
  guarantee: Resources;
  limit: Resources;
}

/** Registry is the replicated state itself. Treat it as immutable: ops return a new one. */
export interface Registry {
  agents: ReadonlyMap<string, RegistryAgent>;
  frameworks: ReadonlyMap<string, FrameworkInfo>;
  weights: Readonly<Record<string, number>>;
  quotas: Readonly<Record<string, RegistryQuota>>;
  maintenance: ReadonlyMap<string, MaintenanceMode>;
}

/** emptyRegistry is a cluster nobody has led yet. */
export function emptyRegistry(): Registry {
  return { agents: new Map(), frameworks: new Map(), weights: {}, quotas: {}, maintenance: new Map() };
}

const Time = z.number().int().nonnegative();

/** RegistryOp is one change to the registry, as persisted. */
export const RegistryOp = z.discriminatedUnion('type', [
  /** Admitted, re-admitted after being unreachable, or its info changed. */
  z.object({ type: z.literal('AGENT_ADMITTED'), agent: AgentInfo, total: ResourceList }),
  /** Its dynamic reservations changed. */
  z.object({ type: z.literal('AGENT_RESOURCES'), agentId: Id, total: ResourceList }),
  z.object({ type: z.literal('AGENT_UNREACHABLE'), agentId: Id, since: Time }),
  /** Marked gone by an operator: final. */
  z.object({ type: z.literal('AGENT_GONE'), agentId: Id }),
  /** Left on its own (UNREGISTER): forgotten; it may register again. */
  z.object({ type: z.literal('AGENT_REMOVED'), agentId: Id }),
  z.object({ type: z.literal('FRAMEWORK_ADDED'), framework: FrameworkInfo }),
  z.object({ type: z.literal('FRAMEWORK_REMOVED'), frameworkId: Id }),
  /** The whole weight table (roles not named weigh 1). */
  z.object({ type: z.literal('WEIGHTS_SET'), weights: z.record(RoleName, z.number().positive().finite()) }),
  /** A role's quota; null removes it. */
  z.object({
    type: z.literal('QUOTA_SET'),
    role: RoleName,
    quota: z.object({ guarantee: ResourceList, limit: ResourceList }).nullable(),
  }),
  z.object({ type: z.literal('MAINTENANCE_SET'), agentId: Id, mode: z.enum(['UP', 'DRAINING', 'DOWN']) }),
]);
export type RegistryOp = z.infer<typeof RegistryOp>;

/** UnknownRegistryOp is an op this version cannot read (written by a newer one): skipped. */
export interface UnknownRegistryOp {
  type: string;
}

/** DraftTable is one table of a RegistryDraft: read from its base until the first write copies it. */
class DraftTable<V> {
  private copy: Map<string, V> | undefined;
  constructor(private readonly base: ReadonlyMap<string, V>) {}

  get changed(): boolean {
    return this.copy !== undefined;
  }
  get(id: string): V | undefined {
    return (this.copy ?? this.base).get(id);
  }
  has(id: string): boolean {
    return (this.copy ?? this.base).has(id);
  }
  /** set puts `value` under `id`, or removes `id` when `value` is undefined. */
  set(id: string, value: V | undefined): void {
    this.copy ??= new Map(this.base);
    if (value) this.copy.set(id, value);
    else this.copy.delete(id);
  }
  result(): ReadonlyMap<string, V> {
    return this.copy ?? this.base;
  }
}

/**
 * RegistryDraft is a registry being changed by a batch of ops: each of its tables is copied the
 * first time an op of the batch changes it, and not again, so a batch costs one copy per table it
 * touches rather than one per op (a copy of 10,000 agents per op made loading a registry, and
 * admitting agents one by one, quadratic).
 */
class RegistryDraft {
  readonly agents: DraftTable<RegistryAgent>;
  readonly frameworks: DraftTable<FrameworkInfo>;
  readonly maintenance: DraftTable<MaintenanceMode>;
  private weights: Readonly<Record<string, number>>;
  private quotas: Readonly<Record<string, RegistryQuota>>;

  constructor(private readonly base: Registry) {
    this.agents = new DraftTable(base.agents);
    this.frameworks = new DraftTable(base.frameworks);
    this.maintenance = new DraftTable(base.maintenance);
    this.weights = base.weights;
    this.quotas = base.quotas;
  }

  setWeights(weights: Readonly<Record<string, number>>): void {
    this.weights = { ...weights };
  }
  setQuota(role: string, quota: RegistryQuota | null): void {
    const quotas = { ...this.quotas };
    if (quota) quotas[role] = quota;
    else delete quotas[role];
    this.quotas = quotas;
  }

  /** done is the new registry; the base itself when no op changed anything. */
  done(): Registry {
    const b = this.base;
    const tables = [this.agents, this.frameworks, this.maintenance];
    if (tables.every((t) => !t.changed) && this.weights === b.weights && this.quotas === b.quotas) return b;
    return {
      agents: this.agents.result(),
      frameworks: this.frameworks.result(),
      weights: this.weights,
      quotas: this.quotas,
      maintenance: this.maintenance.result(),
    };
  }
}

/** applyToDraft is one op's meaning; see applyRegistryOp. */
function applyToDraft(
  d: RegistryDraft,
  op: RegistryOp | UnknownRegistryOp,
  onUnknown: (type: string) => void,
) {
  const known = op as RegistryOp;
  switch (known.type) {
    case 'AGENT_ADMITTED':
      if (d.agents.get(known.agent.id)?.status === RegistryAgentStatus.GONE) return;
      d.agents.set(known.agent.id, {
        info: known.agent,
        total: known.total,
        status: RegistryAgentStatus.ACTIVE,
      });
      return;
    case 'AGENT_RESOURCES': {
      const a = d.agents.get(known.agentId);
      if (a) d.agents.set(known.agentId, { ...a, total: known.total });
      return;
    }
    case 'AGENT_UNREACHABLE': {
      const a = d.agents.get(known.agentId);
      if (!a || a.status === RegistryAgentStatus.GONE) return;
      d.agents.set(known.agentId, {
        ...a,
        status: RegistryAgentStatus.UNREACHABLE,
        unreachableSince: known.since,
      });
      return;
    }
    case 'AGENT_GONE': {
      const a = d.agents.get(known.agentId);
      if (!a) return;
      const { unreachableSince: _u, ...rest } = a;
      d.agents.set(known.agentId, { ...rest, status: RegistryAgentStatus.GONE });
      return;
    }
    case 'AGENT_REMOVED': {
      const a = d.agents.get(known.agentId);
      if (!a || a.status === RegistryAgentStatus.GONE) return;
      d.agents.set(known.agentId, undefined);
      if (d.maintenance.has(known.agentId)) d.maintenance.set(known.agentId, undefined);
      return;
    }
    case 'FRAMEWORK_ADDED':
      d.frameworks.set(known.framework.id, known.framework);
      return;
    case 'FRAMEWORK_REMOVED':
      if (d.frameworks.has(known.frameworkId)) d.frameworks.set(known.frameworkId, undefined);
      return;
    case 'WEIGHTS_SET':
      d.setWeights(known.weights);
      return;
    case 'QUOTA_SET':
      d.setQuota(known.role, known.quota);
      return;
    case 'MAINTENANCE_SET':
      if (!d.agents.get(known.agentId)) return;
      d.maintenance.set(known.agentId, known.mode === MaintenanceMode.UP ? undefined : known.mode);
      return;
    default:
      onUnknown(String((op as UnknownRegistryOp).type));
  }
}

/**
 * applyRegistryOp returns the registry after one op. Ops about an agent or framework the registry
 * does not hold change nothing (an op may be replayed after a snapshot that already has it). An
 * op of a type this version does not know is reported to `onUnknown` and skipped, never fatal.
 */
export function applyRegistryOp(
  reg: Registry,
  op: RegistryOp | UnknownRegistryOp,
  onUnknown: (type: string) => void = () => {},
): Registry {
  return applyRegistryOps(reg, [op], onUnknown);
}

/**
 * applyRegistryOps returns the registry after a batch of ops, in order: the same as applying them
 * one by one with applyRegistryOp, with each table copied at most once for the whole batch. The
 * registry passed in is not changed.
 */
export function applyRegistryOps(
  reg: Registry,
  ops: readonly (RegistryOp | UnknownRegistryOp)[],
  onUnknown: (type: string) => void = () => {},
): Registry {
  const draft = new RegistryDraft(reg);
  for (const op of ops) applyToDraft(draft, op, onUnknown);
  return draft.done();
}

/** parseRegistryOp validates a persisted op; one of an unknown type comes back as UnknownRegistryOp. */
export function parseRegistryOp(raw: unknown): RegistryOp | UnknownRegistryOp {
  const r = RegistryOp.safeParse(raw);
  if (r.success) return r.data;
  const type = (raw as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && !RegistryOp.options.some((o) => o.shape.type.value === type))
    return { type };
  throw new RegistryOpError(`malformed registry op: ${r.error.message.slice(0, 300)}`, { cause: r.error });
}

/** RegistryOpError is a persisted op of a known type that does not validate. */
export class RegistryOpError extends Error {
  override name = 'RegistryOpError';
}

/** RegistrySnapshot is the registry as plain data, for snapshots. */
export const RegistrySnapshot = z.object({
  agents: z.array(
    z.object({
      info: AgentInfo,
      total: ResourceList,
      status: z.enum(['ACTIVE', 'UNREACHABLE', 'GONE']),
      unreachableSince: Time.optional(),
    }),
  ),
  frameworks: z.array(FrameworkInfo),
  weights: z.record(z.string(), z.number()),
  quotas: z.record(z.string(), z.object({ guarantee: ResourceList, limit: ResourceList })),
  maintenance: z.array(z.tuple([Id, z.enum(['UP', 'DRAINING', 'DOWN'])])),
});
export type RegistrySnapshot = z.infer<typeof RegistrySnapshot>;

/** toSnapshot turns a registry into plain data. */
export function toSnapshot(reg: Registry): RegistrySnapshot {
  return {
    agents: [...reg.agents.values()],
    frameworks: [...reg.frameworks.values()],
    weights: { ...reg.weights },
    quotas: { ...reg.quotas },
    maintenance: [...reg.maintenance],
  };
}

/** fromSnapshot validates a snapshot and turns it back into a registry. */
export function fromSnapshot(raw: unknown): Registry {
  const s = RegistrySnapshot.parse(raw);
  return {
    agents: new Map(s.agents.map((a) => [a.info.id, a])),
    frameworks: new Map(s.frameworks.map((f) => [f.id, f])),
    weights: s.weights,
    quotas: s.quotas,
    maintenance: new Map(s.maintenance),
  };
}
