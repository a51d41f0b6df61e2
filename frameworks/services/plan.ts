import { isTerminal, type TaskState } from '../../protocol/index.js';
import type { Instance, ServiceState } from './service-state.js';

/** ServicePlan is what a service needs now: how many instances of its version to launch, which to kill. */
export interface ServicePlan {
  launch: number;
  kill: string[];
}

/** isLive tells whether an instance still runs (or will) and is not being killed. */
export function isLive(i: Instance): boolean {
  return !isTerminal(i.state as TaskState) && !i.killing;
}

/** isHealthy: with a health check, the executor's verdict; without one, being RUNNING. */
export function isHealthy(i: Instance): boolean {
  if (!isLive(i) || i.state !== 'TASK_RUNNING') return false;
  return i.checked ? i.healthy === true : true;
}

type Entry = [string, Instance];

// Kill order: unhealthy first, then the youngest.
function killOrder(a: Entry, b: Entry): number {
  return Number(isHealthy(a[1])) - Number(isHealthy(b[1])) || b[1].startedAt - a[1].startedAt;
}

/** capacity returns the rollout bounds for `n` instances. */
export function capacity(s: ServiceState): { minHealthy: number; maxTotal: number } {
  const n = s.spec.instances;
  const u = s.spec.upgrade;
  const over = u.maxOverCapacity > 0 ? Math.max(1, Math.floor(n * u.maxOverCapacity)) : 0;
  return { minHealthy: Math.ceil(n * u.minHealthCapacity), maxTotal: n + over };
}

/**
 * plan decides launches and kills (Marathon's rolling upgrade): without old-version instances it
 * keeps exactly `instances` live ones, launching only once the restart backoff allows. During a
 * rollout it launches new-version instances while the total (those still shutting down included)
 * stays within `maxTotal`, and kills
 * old-version ones, unhealthy first, while the healthy count stays at or above `minHealthy`.
 */
export function plan(s: ServiceState, now: number): ServicePlan {
  const live = Object.entries(s.instances).filter(([, i]) => isLive(i));
  if (s.deleting) return { launch: 0, kill: live.map(([id]) => id) };
  const n = s.spec.instances;
  const current = live.filter(([, i]) => i.version === s.version);
  const old = live.filter(([, i]) => i.version !== s.version);
  const backingOff = s.nextLaunchAt !== undefined && s.nextLaunchAt > now;
  const kill: string[] = [];
  if (current.length > n)
    kill.push(
      ...[...current]
        .sort(killOrder)
        .slice(0, current.length - n)
        .map(([id]) => id),
    );
  if (old.length === 0) return { launch: backingOff ? 0 : Math.max(0, n - current.length), kill };

  const { minHealthy, maxTotal } = capacity(s);
  // Instances still shutting down hold their resources: they count against the over-capacity.
  const dying = Object.values(s.instances).filter(
    (i) => i.killing && !isTerminal(i.state as TaskState),
  ).length;
  const launch = backingOff ? 0 : Math.max(0, Math.min(n - current.length, maxTotal - live.length - dying));
  let healthy = live.filter(([id, i]) => isHealthy(i) && !kill.includes(id)).length;
  for (const [id, i] of [...old].sort(killOrder)) {
    if (!isHealthy(i)) kill.push(id);
    else if (healthy - 1 >= minHealthy || (n === 0 && healthy > 0)) {
      kill.push(id);
      healthy -= 1;
    }
  }
  return { launch, kill };
}
