import { isTerminal, TaskState, type TaskStatus } from '../../protocol/index.js';
import { diffSpecs } from '../apps/diff.js';
import { withEvent } from '../apps/events.js';
import type { ServiceSpec } from '../apps/spec.js';
import { backoffDelayMs } from '../apps/spec-fields.js';
import { failureText } from '../apps/task-text.js';
import { isHealthy, isLive } from './plan.js';
import type { Instance, ServiceState } from './service-state.js';

/** Applied is the outcome of applying a spec: the new state and what changed. */
export interface Applied {
  state: ServiceState;
  action: 'created' | 'updated' | 'unchanged';
  changes: string[];
}

function hasLive(s: ServiceState): boolean {
  return Object.values(s.instances).some(isLive);
}

function newVersion(
  s: ServiceState,
  spec: ServiceSpec,
  now: number,
  why: string,
  rollback = false,
): ServiceState {
  const version = s.version + 1;
  return {
    ...s,
    spec,
    version,
    previous: rollback ? s.previous : s.spec,
    failures: 0,
    nextLaunchAt: undefined,
    deployment: hasLive(s)
      ? { fromVersion: s.version, toVersion: version, startedAt: now, failures: 0, rollback }
      : undefined,
    events: withEvent(s.events, now, `version ${version}: ${why}`),
  };
}

/**
 * applySpec creates a service, or updates it: a change of `instances` alone scales it in place;
 * any other change makes a new version and starts a rolling upgrade.
 */
export function applySpec(s: ServiceState | undefined, spec: ServiceSpec, now: number): Applied {
  if (!s) {
    return {
      action: 'created',
      changes: [],
      state: {
        spec,
        version: 1,
        generation: now.toString(36),
        seq: 0,
        instances: {},
        failures: 0,
        deleting: false,
        events: [{ at: now, message: `version 1: created with ${spec.instances} instance(s)` }],
      },
    };
  }
  const changes = diffSpecs(s.spec, spec);
  if (changes.length === 0) return { state: s, action: 'unchanged', changes };
  const onlyScale = diffSpecs({ ...s.spec, instances: 0 }, { ...spec, instances: 0 }).length === 0;
  const state = onlyScale
    ? { ...s, spec, events: withEvent(s.events, now, `scaled from ${s.spec.instances} to ${spec.instances}`) }
    : newVersion(s, spec, now, `rolling upgrade (${changes.join('; ')})`);
  return { state, action: 'updated', changes };
}

/** scale sets the instance count without a new version. */
export function scale(s: ServiceState, instances: number, now: number): ServiceState {
  return {
    ...s,
    spec: { ...s.spec, instances },
    events: withEvent(s.events, now, `scaled from ${s.spec.instances} to ${instances}`),
  };
}

/** restart makes a new version of the same spec, so every instance is replaced by a rolling upgrade. */
export function restart(s: ServiceState, now: number): ServiceState {
  return newVersion(s, s.spec, now, 'restart');
}

/** markDeleting makes plan kill every instance; the service is forgotten once none is live. */
export function markDeleting(s: ServiceState, now: number): ServiceState {
  return { ...s, deleting: true, deployment: undefined, events: withEvent(s.events, now, 'deleting') };
}

/** nextTaskId names the next instance. */
export function nextTaskId(s: ServiceState): [string, ServiceState] {
  const seq = s.seq + 1;
  return [`svc-${s.spec.name}-${s.generation}-${seq}`, { ...s, seq }];
}

/** launched records an instance just sent to the master. */
export function launched(
  s: ServiceState,
  taskId: string,
  i: Omit<Instance, 'state' | 'killing' | 'healthy'>,
  now: number,
): ServiceState {
  return {
    ...s,
    instances: { ...s.instances, [taskId]: { ...i, state: TaskState.STAGING, killing: false } },
    events: withEvent(
      s.events,
      now,
      `launched ${taskId} (version ${i.version}) on ${i.hostname}${i.ports.length ? ` ports ${i.ports.join(',')}` : ''}`,
    ),
  };
}

/** killing marks instances the framework asked the master to kill. */
export function killing(s: ServiceState, ids: readonly string[], now: number): ServiceState {
  if (ids.length === 0) return s;
  const instances = { ...s.instances };
  for (const id of ids) if (instances[id]) instances[id] = { ...instances[id], killing: true };
  return { ...s, instances, events: withEvent(s.events, now, `killing ${ids.join(', ')}`) };
}

/**
 * taskUpdated applies a status update. An instance that ends without being asked to is a failure:
 * it pushes the restart backoff and counts against a rollout of its version. Ended instances are
 * forgotten. An instance turning healthy resets the backoff.
 */
export function taskUpdated(s: ServiceState, status: TaskStatus, now: number): ServiceState {
  const inst = s.instances[status.taskId];
  if (!inst) return s;
  const updated: Instance = {
    ...inst,
    state: status.state,
    ...(status.healthy !== undefined ? { healthy: status.healthy } : {}),
  };
  if (!isTerminal(status.state)) {
    const becameHealthy = !isHealthy(inst) && isHealthy(updated);
    const becameSick = isHealthy(inst) && !isHealthy(updated) && updated.checked;
    let events = s.events;
    if (becameHealthy) events = withEvent(events, now, `${status.taskId} healthy`);
    if (becameSick) events = withEvent(events, now, `${status.taskId} unhealthy`);
    return {
      ...s,
      instances: { ...s.instances, [status.taskId]: updated },
      ...(becameHealthy ? { failures: 0, nextLaunchAt: undefined } : {}),
      events,
    };
  }
  const { [status.taskId]: _gone, ...instances } = s.instances;
  if (inst.killing)
    return { ...s, instances, events: withEvent(s.events, now, `${status.taskId} ended: ${status.state}`) };
  const failures = s.failures + 1;
  const d = s.deployment;
  return {
    ...s,
    instances,
    failures,
    nextLaunchAt: now + backoffDelayMs(s.spec.restart, failures),
    deployment: d && inst.version === d.toVersion ? { ...d, failures: d.failures + 1 } : d,
    events: withEvent(
      s.events,
      now,
      `${status.taskId} failed: ${failureText(status)}; next launch in ${backoffDelayMs(s.spec.restart, failures) / 1000} s`,
    ),
  };
}

/**
 * settle ends a rollout that is done (no old instance left, every new one healthy) and rolls back
 * one that failed: too many failures of the new version, or not all healthy by the progress
 * deadline, when the spec asks for rollback.
 */
export function settle(s: ServiceState, now: number): ServiceState {
  const d = s.deployment;
  if (!d) return s;
  const live = Object.values(s.instances).filter(isLive);
  const old = live.filter((i) => i.version !== s.version);
  const healthyNew = live.filter((i) => i.version === s.version && isHealthy(i)).length;
  if (old.length === 0 && healthyNew >= s.spec.instances) {
    return {
      ...s,
      deployment: undefined,
      events: withEvent(s.events, now, `${d.rollback ? 'rollback' : 'rollout'} to version ${s.version} done`),
    };
  }
  const u = s.spec.upgrade;
  const tooManyFailures = d.failures >= u.maxFailures;
  const tooSlow = now - d.startedAt > u.progressDeadlineSeconds * 1000;
  if (!u.rollbackOnFailure || d.rollback || !s.previous || !(tooManyFailures || tooSlow)) return s;
  const why = tooManyFailures
    ? `${d.failures} failure(s) of version ${s.version}`
    : `version ${s.version} not healthy within ${u.progressDeadlineSeconds} s`;
  return newVersion(
    { ...s, events: withEvent(s.events, now, `rollout failed: ${why}; rolling back`) },
    s.previous,
    now,
    `rollback to the spec of version ${d.fromVersion}`,
    true,
  );
}

/** isGone tells whether a deleted service has no instance left and can be forgotten. */
export function isGone(s: ServiceState): boolean {
  return s.deleting && Object.values(s.instances).every((i) => isTerminal(i.state as TaskState));
}
