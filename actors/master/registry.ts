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

function withAgent(reg: Registry, id: string, agent: RegistryAgent | undefined): Registry {
  const agents = new Map(reg.agents);
  if (agent) agents.set(id, agent);
  else agents.delete(id);
  return { ...reg, agents };
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
  const known = op as RegistryOp;
  switch (known.type) {
    case 'AGENT_ADMITTED': {
      if (reg.agents.get(known.agent.id)?.status === RegistryAgentStatus.GONE) return reg;
      return withAgent(reg, known.agent.id, {
        info: known.agent,
        total: known.total,
        status: RegistryAgentStatus.ACTIVE,
      });
    }
    case 'AGENT_RESOURCES': {
      const a = reg.agents.get(known.agentId);
      return a ? withAgent(reg, known.agentId, { ...a, total: known.total }) : reg;
    }
    case 'AGENT_UNREACHABLE': {
      const a = reg.agents.get(known.agentId);
      if (!a || a.status === RegistryAgentStatus.GONE) return reg;
      return withAgent(reg, known.agentId, {
        ...a,
        status: RegistryAgentStatus.UNREACHABLE,
        unreachableSince: known.since,
      });
    }
    case 'AGENT_GONE': {
      const a = reg.agents.get(known.agentId);
      if (!a) return reg;
      const { unreachableSince: _u, ...rest } = a;
      return withAgent(reg, known.agentId, { ...rest, status: RegistryAgentStatus.GONE });
    }
    case 'AGENT_REMOVED': {
      const a = reg.agents.get(known.agentId);
      if (!a || a.status === RegistryAgentStatus.GONE) return reg;
      const next = withAgent(reg, known.agentId, undefined);
      if (!reg.maintenance.has(known.agentId)) return next;
      const maintenance = new Map(reg.maintenance);
      maintenance.delete(known.agentId);
      return { ...next, maintenance };
    }
    case 'FRAMEWORK_ADDED': {
      const frameworks = new Map(reg.frameworks);
      frameworks.set(known.framework.id, known.framework);
      return { ...reg, frameworks };
    }
    case 'FRAMEWORK_REMOVED': {
      if (!reg.frameworks.has(known.frameworkId)) return reg;
      const frameworks = new Map(reg.frameworks);
      frameworks.delete(known.frameworkId);
      return { ...reg, frameworks };
    }
    case 'WEIGHTS_SET':
      return { ...reg, weights: { ...known.weights } };
    case 'QUOTA_SET': {
      const quotas = { ...reg.quotas };
      if (known.quota) quotas[known.role] = known.quota;
      else delete quotas[known.role];
      return { ...reg, quotas };
    }
    case 'MAINTENANCE_SET': {
      if (!reg.agents.has(known.agentId)) return reg;
      const maintenance = new Map(reg.maintenance);
      if (known.mode === MaintenanceMode.UP) maintenance.delete(known.agentId);
      else maintenance.set(known.agentId, known.mode);
      return { ...reg, maintenance };
    }
    default:
      onUnknown(String((op as UnknownRegistryOp).type));
      return reg;
  }
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
