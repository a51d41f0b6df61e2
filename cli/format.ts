import Table from 'cli-table3';
import {
  type AgentView,
  type FrameworkView,
  resources as R,
  type Resources,
  type RoleQuota,
  type RoleView,
  type RoleWeight,
  type TaskView,
} from '../protocol/index.js';

/** formatScalar writes a quantity with at most three decimals and no trailing zeros. */
export function formatScalar(x: number): string {
  return String(R.roundScalar(x));
}

const ORDER = ['cpus', 'mem', 'disk', 'gpus', 'ports'];
const rank = (name: string) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);

function quantity(rs: Resources, name: string): number {
  const ranges = R.ranges(rs, name);
  return ranges.length ? R.rangeSize(ranges) : R.scalar(rs, name);
}

function namesOf(...lists: Resources[]): string[] {
  return [...new Set(lists.flat().map((r) => r.name))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
}

/** usedOfTotal writes `cpus 1/4 · mem 512/8192 · ports 2/1001` (ranges are counted). */
export function usedOfTotal(used: Resources, total: Resources): string {
  return namesOf(total, used)
    .map((n) => `${n} ${formatScalar(quantity(used, n))}/${formatScalar(quantity(total, n))}`)
    .join(' · ');
}

/** resourceList writes `cpus 0.1 · mem 32` (ranges in flag syntax: `ports [31000-31001]`). */
export function resourceList(rs: Resources): string {
  if (R.isEmpty(rs)) return '-';
  return namesOf(rs)
    .map((n) => {
      const ranges = R.ranges(rs, n);
      return ranges.length
        ? `${n} [${ranges.map(([b, e]) => (b === e ? `${b}` : `${b}-${e}`)).join(',')}]`
        : `${n} ${formatScalar(R.scalar(rs, n))}`;
    })
    .join(' · ');
}

/** ago writes how long before `now` a time was: `42s`, `5m`, `3h`, `2d`. */
export function ago(now: number, then: number): string {
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** table lays rows out under a header, compact and unstyled, as every listing does. */
export function table(head: string[], rows: string[][]): string {
  const t = new Table({ head, style: { head: [], border: [], compact: true }, wordWrap: false });
  for (const r of rows) t.push(r);
  return t.toString();
}

/** agentsTable lists agents with their resources used of total. */
export function agentsTable(agents: readonly AgentView[], now: number): string {
  if (agents.length === 0) return 'no agents';
  return table(
    ['ID', 'HOSTNAME', 'STATUS', 'TASKS', 'RESOURCES (used/total)', 'SEEN'],
    agents.map((a) => [
      a.id,
      a.hostname,
      a.status,
      String(a.tasks),
      usedOfTotal(a.used, a.total),
      `${ago(now, a.lastSeenAt)} ago`,
    ]),
  );
}

/** frameworksTable lists frameworks with their roles, tasks and used resources. */
export function frameworksTable(frameworks: readonly FrameworkView[], now: number): string {
  if (frameworks.length === 0) return 'no frameworks';
  return table(
    ['ID', 'NAME', 'STATUS', 'ROLES', 'TASKS', 'USED', 'SUBSCRIBED'],
    frameworks.map((f) => [
      f.id,
      f.name,
      f.status,
      f.roles.join(','),
      String(f.tasks),
      resourceList(f.used),
      `${ago(now, f.subscribedAt)} ago`,
    ]),
  );
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** healthOf is a task's health check verdict in a word: a dash when it has none (yet). */
export function healthOf(t: Pick<TaskView, 'healthy'>): string {
  return t.healthy === undefined ? '-' : t.healthy ? 'healthy' : 'unhealthy';
}

/** tasksTable lists tasks with their state, health, agent, resources and command. */
export function tasksTable(tasks: readonly TaskView[], now: number): string {
  if (tasks.length === 0) return 'no tasks';
  return table(
    ['ID', 'STATE', 'HEALTH', 'FRAMEWORK', 'AGENT', 'RESOURCES', 'COMMAND', 'UPDATED'],
    tasks.map((t) => [
      t.taskId,
      t.exitCode !== undefined && t.state === 'TASK_FAILED' ? `${t.state} (${t.exitCode})` : t.state,
      healthOf(t),
      t.frameworkId,
      t.agentId,
      resourceList(t.resources),
      truncate(t.command, 40),
      `${ago(now, t.updatedAt)} ago`,
    ]),
  );
}

const share = (x: number) => `${(x * 100).toFixed(1)}%`;

/** rolesTable lists roles with their weight, quota, allocation and dominant share. */
export function rolesTable(roles: readonly RoleView[]): string {
  if (roles.length === 0) return 'no roles';
  return table(
    ['ROLE', 'WEIGHT', 'FRAMEWORKS', 'ALLOCATED', 'OFFERED', 'SHARE', 'SHARE/WEIGHT', 'QUOTA'],
    roles.map((r) => [
      r.role,
      formatScalar(r.weight),
      String(r.frameworks.length),
      resourceList(r.allocated),
      resourceList(r.offered),
      share(r.dominantShare),
      share(r.weightedShare),
      r.quota ? `guarantee ${resourceList(r.quota.guarantee)}; limit ${resourceList(r.quota.limit)}` : '-',
    ]),
  );
}

/** weightsTable lists role weights. */
export function weightsTable(weights: readonly RoleWeight[]): string {
  if (weights.length === 0) return 'no weights set (every role weighs 1)';
  return table(
    ['ROLE', 'WEIGHT'],
    weights.map((w) => [w.role, formatScalar(w.weight)]),
  );
}

/** quotaTable lists role quotas. */
export function quotaTable(quotas: readonly RoleQuota[]): string {
  if (quotas.length === 0) return 'no quotas';
  return table(
    ['ROLE', 'GUARANTEE', 'LIMIT'],
    quotas.map((q) => [q.role, resourceList(q.guarantee), resourceList(q.limit)]),
  );
}
