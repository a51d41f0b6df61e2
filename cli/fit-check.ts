import { AgentStatus, type AgentView, resources as R, type Resources } from '../protocol/index.js';
import { formatScalar } from './format.js';

/** FitVerdict says whether any registered agent could ever run a request, were it idle. */
export type FitVerdict =
  | { kind: 'fits'; agentIds: string[] }
  | { kind: 'never'; message: string }
  | { kind: 'no-agents'; message: string };

/** describeScalars writes the scalar resources of a list as `cpus=1 mem=512 disk=1024`. */
export function describeScalars(rs: Resources): string {
  const order = ['cpus', 'mem', 'disk', 'gpus'];
  const rank = (n: string) => (order.includes(n) ? order.indexOf(n) : order.length);
  return Object.entries(R.scalars(rs))
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([name, value]) => `${name}=${formatScalar(value)}`)
    .join(' ');
}

/**
 * canAnyAgentFit checks a request against the totals of the active agents (what they hold when
 * idle, counting only resources the role may use). When none fits it names the closest agent: the
 * one that covers the most of the requested resources, then the one with the most cpus and mem.
 */
export function canAnyAgentFit(
  agents: readonly AgentView[],
  request: { resources: Resources; role: string },
): FitVerdict {
  const active = agents.filter((a) => a.status === AgentStatus.ACTIVE);
  const wanted = describeScalars(request.resources);
  if (active.length === 0)
    return { kind: 'no-agents', message: `no agent is registered yet to run ${wanted}` };
  const usable = active.map((a) => ({ agent: a, usable: R.usableBy(a.total, request.role) }));
  const fits = usable
    .filter((u) => R.fitIn(u.usable, request.resources) !== undefined)
    .map((u) => u.agent.id);
  if (fits.length) return { kind: 'fits', agentIds: fits };
  const covered = (rs: Resources) =>
    R.normalize(request.resources).filter((want) => R.fitIn(rs, [want]) !== undefined).length;
  const closest = [...usable].sort(
    (a, b) =>
      covered(b.usable) - covered(a.usable) ||
      R.scalar(b.usable, 'cpus') - R.scalar(a.usable, 'cpus') ||
      R.scalar(b.usable, 'mem') - R.scalar(a.usable, 'mem'),
  )[0];
  const role = request.role === '*' ? '' : ` for role ${request.role}`;
  const has = describeScalars(closest.usable) || 'nothing usable';
  return {
    kind: 'never',
    message: `no agent can fit ${wanted}${role}; largest agent has ${has} (agent ${closest.agent.id} of ${active.length})`,
  };
}
