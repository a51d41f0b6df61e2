import { describe, expect, it } from 'vitest';
import type { ServiceSpec } from '../../frameworks/apps/spec.js';
import { parseSpecs } from '../../frameworks/apps/spec-file.js';
import {
  applySpec,
  capacity,
  type Instance,
  isHealthy,
  killing,
  plan,
  restart,
  type ServiceState,
  settle,
  taskUpdated,
} from '../../frameworks/services/index.js';

const T0 = 1_700_000_000_000;

function spec(extra = ''): ServiceSpec {
  return parseSpecs(`kind: Service\nname: web\ncommand: serve\ninstances: 3\n${extra}`)[0] as ServiceSpec;
}

function inst(version: number, healthy: boolean, extra: Partial<Instance> = {}): Instance {
  return {
    version,
    state: 'TASK_RUNNING',
    healthy,
    checked: true,
    killing: false,
    agentId: 'a1',
    hostname: 'h1',
    attributes: {},
    ports: [],
    startedAt: T0,
    ...extra,
  };
}

function state(
  s: ServiceSpec,
  version: number,
  instances: Record<string, Instance>,
  extra: Partial<ServiceState> = {},
): ServiceState {
  return {
    spec: s,
    version,
    generation: 'g',
    seq: 0,
    instances,
    failures: 0,
    deleting: false,
    events: [],
    ...extra,
  };
}

const status = (taskId: string, st: string, more: Record<string, unknown> = {}) =>
  ({ taskId, state: st, source: 'SOURCE_EXECUTOR', timestamp: 0, ...more }) as never;

describe('service plan', () => {
  it('launches the missing instances of a new service, and kills the extra ones after a scale down', () => {
    expect(plan(state(spec(), 1, {}), T0)).toEqual({ launch: 3, kill: [] });
    const four = {
      a: inst(1, true, { startedAt: T0 }),
      b: inst(1, true, { startedAt: T0 + 3 }),
      c: inst(1, false),
      d: inst(1, true, { startedAt: T0 + 1 }),
    };
    // One too many: the unhealthy one goes first.
    expect(plan(state(spec(), 1, four), T0)).toEqual({ launch: 0, kill: ['c'] });
  });

  it('waits out the restart backoff before replacing a failed instance', () => {
    const s = state(
      spec(),
      1,
      { a: inst(1, true), b: inst(1, true) },
      { failures: 1, nextLaunchAt: T0 + 1000 },
    );
    expect(plan(s, T0 + 999).launch).toBe(0);
    expect(plan(s, T0 + 1000).launch).toBe(1);
  });

  it('counts RUNNING as healthy only for instances launched without a health check', () => {
    expect(isHealthy(inst(1, false, { checked: false }))).toBe(true);
    expect(isHealthy(inst(1, false, { checked: true }))).toBe(false);
    expect(isHealthy(inst(1, true, { state: 'TASK_STARTING' }))).toBe(false);
  });

  it('rolls out within minHealthCapacity 0.5 and maxOverCapacity 0.5 of 3 instances', () => {
    const s0 = spec('upgrade: {minHealthCapacity: 0.5, maxOverCapacity: 0.5}\n');
    // minHealthy = ceil(1.5) = 2; maxTotal = 3 + floor(1.5) = 4
    expect(capacity(state(s0, 1, {}))).toEqual({ minHealthy: 2, maxTotal: 4 });
    const s = state(s0, 2, { a: inst(1, true), b: inst(1, true), c: inst(1, true) });
    // 3 live: launch 1 new (total 4); kill 1 old (healthy 3 -> 2).
    const p = plan(s, T0);
    expect(p.launch).toBe(1);
    expect(p.kill).toHaveLength(1);
  });

  it('never kills a healthy old instance below minHealthy while the new ones are not healthy', () => {
    const s = state(spec('upgrade: {minHealthCapacity: 1, maxOverCapacity: 1}\n'), 2, {
      a: inst(1, true),
      b: inst(1, true),
      c: inst(1, true),
      n1: inst(2, false),
      n2: inst(2, false),
      n3: inst(2, false),
    });
    expect(plan(s, T0)).toEqual({ launch: 0, kill: [] });
    // One new instance turns healthy: one old may go.
    const s2 = { ...s, instances: { ...s.instances, n1: inst(2, true) } };
    expect(plan(s2, T0).kill).toHaveLength(1);
  });

  it('counts instances still shutting down against the over-capacity', () => {
    const s = state(spec('upgrade: {minHealthCapacity: 0.5, maxOverCapacity: 0.5}\n'), 2, {
      a: inst(1, true),
      b: inst(1, true),
      c: inst(1, true, { killing: true }),
      n1: inst(2, false),
    });
    // live 3 + 1 dying = 4 = maxTotal: nothing more to launch yet.
    expect(plan(s, T0).launch).toBe(0);
  });

  it('kills every instance of a service being deleted', () => {
    const s = state(spec(), 1, { a: inst(1, true), b: inst(1, false) }, { deleting: true });
    expect(plan(s, T0)).toEqual({ launch: 0, kill: ['a', 'b'] });
  });
});

describe('service transitions', () => {
  it('scales in place when only instances change, and makes a new version otherwise', () => {
    const s = state(spec(), 1, { a: inst(1, true) });
    const scaled = applySpec(s, { ...spec(), instances: 5 }, T0);
    expect(scaled).toMatchObject({ action: 'updated', changes: ['instances: 3 -> 5'] });
    expect(scaled.state.version).toBe(1);
    expect(scaled.state.deployment).toBeUndefined();
    const changed = applySpec(s, { ...spec(), command: 'serve --fast' }, T0);
    expect(changed.state.version).toBe(2);
    expect(changed.state.previous?.command).toBe('serve');
    expect(changed.state.deployment).toEqual({
      fromVersion: 1,
      toVersion: 2,
      startedAt: T0,
      failures: 0,
      rollback: false,
    });
    expect(applySpec(s, spec(), T0).action).toBe('unchanged');
    expect(restart(s, T0).version).toBe(2);
  });

  it('treats an instance that ends unasked as a failure with backoff, and one it killed as not', () => {
    const s = state(spec(), 1, { a: inst(1, true), b: inst(1, true) });
    const failed = taskUpdated(s, status('a', 'TASK_FAILED', { exitCode: 1 }), T0);
    expect(failed.instances.a).toBeUndefined();
    expect(failed.failures).toBe(1);
    expect(failed.nextLaunchAt).toBe(T0 + 1000);
    expect(failed.events.at(-1)?.message).toMatch(/a failed: TASK_FAILED: exit code 1/);
    const killed = taskUpdated(killing(s, ['b'], T0), status('b', 'TASK_KILLED'), T0);
    expect(killed.failures).toBe(0);
    expect(killed.instances.b).toBeUndefined();
  });

  it('resets the backoff when an instance turns healthy', () => {
    const s = state(spec(), 1, { a: inst(1, false) }, { failures: 3, nextLaunchAt: T0 + 8000 });
    const next = taskUpdated(s, status('a', 'TASK_RUNNING', { healthy: true }), T0);
    expect(next.failures).toBe(0);
    expect(next.nextLaunchAt).toBeUndefined();
  });

  it('ends a finished rollout and rolls back a failed one to the previous spec', () => {
    const old = spec();
    const s = applySpec(
      state(old, 1, { a: inst(1, true), b: inst(1, true), c: inst(1, true) }),
      { ...old, command: 'broken' },
      T0,
    ).state;
    // maxFailures (3) failures of version 2: roll back to version 3 with the old spec.
    const failing = {
      ...s,
      deployment: { ...(s.deployment as NonNullable<ServiceState['deployment']>), failures: 3 },
    };
    const back = settle(failing, T0 + 1000);
    expect(back.version).toBe(3);
    expect(back.spec.command).toBe('serve');
    expect(back.deployment).toMatchObject({ fromVersion: 2, toVersion: 3, rollback: true });
    // Not yet past the progress deadline (120 s) without failures: keep going.
    expect(settle(s, T0 + 119_000)).toBe(s);
    expect(settle(s, T0 + 121_000).version).toBe(3);
    // Without rollbackOnFailure a failed rollout is left as it is.
    const noRollback = {
      ...failing,
      spec: { ...failing.spec, upgrade: { ...failing.spec.upgrade, rollbackOnFailure: false } },
    };
    expect(settle(noRollback, T0 + 200_000)).toBe(noRollback);
    // Done: only version 2, all healthy.
    const done = { ...s, instances: { x: inst(2, true), y: inst(2, true), z: inst(2, true) } };
    expect(settle(done, T0).deployment).toBeUndefined();
  });
});
