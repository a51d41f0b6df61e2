import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import {
  firstProbeAt,
  type HealthCounter,
  type HealthTimings,
  recordProbe,
  startHealth,
} from '../../actors/executor/health-check.js';
import { type ExecutorEvent, executorMachine } from '../../actors/executor/index.js';
import { HealthCheck, type HealthCheckInput, type TaskStatus } from '../../protocol/index.js';

/** Timings of these tests: delay 1 s, interval 2 s, grace 5 s, 3 failures kill. */
const spec: HealthTimings = {
  delaySeconds: 1,
  intervalSeconds: 2,
  gracePeriodSeconds: 5,
  consecutiveFailures: 3,
};

type Row = { at: number; ok: boolean; report?: boolean; kill?: boolean; ignored?: boolean };

/** replay feeds probe results to the counter in order, the task having started at t = 0. */
function replay(timings: HealthTimings, rows: Row[]) {
  let counter: HealthCounter = startHealth(0);
  return rows.map((row) => {
    const v = recordProbe(timings, counter, { ok: row.ok, at: row.at });
    counter = v.counter;
    return {
      at: row.at,
      ok: row.ok,
      report: v.report?.healthy,
      kill: v.kill,
      ignored: v.ignored,
      next: v.nextProbeAt,
    };
  });
}

describe('health-check counting (pure, simulated clock)', () => {
  it('schedules the first probe delaySeconds after the start and each next one intervalSeconds after the last', () => {
    expect(firstProbeAt(spec, startHealth(10_000))).toBe(11_000);
    expect(replay(spec, [{ at: 1000, ok: true }]).map((r) => r.next)).toEqual([3000]);
  });

  it.each<{ name: string; timings?: HealthTimings; rows: Row[] }>([
    {
      name: 'the first success after the start reports healthy, the next ones report nothing',
      rows: [
        { at: 1000, ok: true, report: true },
        { at: 3000, ok: true },
        { at: 5000, ok: true },
      ],
    },
    {
      name: 'failures within the grace period (t <= 5 s) before any success are ignored',
      // grace: 5000 ms; probes at 1, 3, 5 s are in it, 7 s is not
      rows: [
        { at: 1000, ok: false, ignored: true },
        { at: 3000, ok: false, ignored: true },
        { at: 5000, ok: false, ignored: true },
        { at: 7000, ok: false, report: false },
      ],
    },
    {
      name: 'a success ends the grace period for good: a failure inside it then counts',
      rows: [
        { at: 1000, ok: true, report: true },
        { at: 3000, ok: false, report: false },
        { at: 5000, ok: false },
        { at: 7000, ok: false, kill: true },
      ],
    },
    {
      name: 'three failures in a row after the grace kill; a success in between resets the count',
      rows: [
        { at: 7000, ok: false, report: false },
        { at: 9000, ok: false },
        { at: 11_000, ok: true, report: true },
        { at: 13_000, ok: false, report: false },
        { at: 15_000, ok: false },
        { at: 17_000, ok: false, kill: true },
      ],
    },
    {
      name: 'consecutiveFailures 0 reports unhealthy but never kills',
      timings: { ...spec, consecutiveFailures: 0 },
      rows: [
        { at: 7000, ok: false, report: false },
        { at: 9000, ok: false },
        { at: 11_000, ok: false },
        { at: 13_000, ok: false },
        { at: 15_000, ok: true, report: true },
      ],
    },
    {
      name: 'consecutiveFailures 1 kills on the first failure that counts',
      timings: { ...spec, consecutiveFailures: 1, gracePeriodSeconds: 0 },
      rows: [{ at: 1000, ok: false, report: false, kill: true }],
    },
  ])('$name', ({ timings, rows }) => {
    const got = replay(timings ?? spec, rows);
    expect(got.map(({ at, ok, report, kill, ignored }) => ({ at, ok, report, kill, ignored }))).toEqual(
      rows.map((r) => ({
        at: r.at,
        ok: r.ok,
        report: r.report,
        kill: r.kill ?? false,
        ignored: r.ignored ?? false,
      })),
    );
  });

  it('changes nothing in the counter it is given', () => {
    const counter = startHealth(0);
    const copy = { ...counter };
    recordProbe(spec, counter, { ok: false, at: 60_000 });
    expect(counter).toEqual(copy);
  });
});

/** A command executor machine with a health check and fake effects, on a simulated clock. */
function start(check: HealthCheckInput, opts: { taskKillingState?: boolean; grace?: number } = {}) {
  const clock = new SimulatedClock();
  const updates: TaskStatus[] = [];
  const effects: string[] = [];
  const machine = executorMachine.provide({
    actions: {
      // Resends publish the same uuid again: keep each update once.
      publishUpdate: (_, p) => {
        if (!updates.some((u) => u.uuid === p.status.uuid)) updates.push(p.status);
      },
      publishRegister: () => void effects.push('register'),
      spawnTask: () => void effects.push('spawn'),
      signalTask: (_, p) => void effects.push(p.signal),
      warn: () => void effects.push('warn'),
      probeHealth: (_, p) => void effects.push(`probe:${p.check.type}`),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: {
      agentId: 'a1',
      executorId: 't1',
      frameworkId: 'f1',
      taskId: 't1',
      defaultGracePeriodSeconds: opts.grace ?? 3,
      healthCheck: HealthCheck.parse(check),
      taskKillingState: opts.taskKillingState,
      now: 0,
      uuid: 'u-start',
    },
  }).start();
  let n = 0;
  const stamp = () => ({ now: clock.now(), uuid: `u${++n}` });
  /** ackAll acknowledges every update sent so far, as a prompt agent would. */
  const ackAll = () => {
    for (let i = 0; i < 100; i++) {
      const head = actor.getSnapshot().context.outbox[0];
      if (!head) return;
      actor.send({ type: 'ACK', uuid: head.uuid });
    }
  };
  return {
    actor,
    clock,
    updates,
    effects,
    stamp,
    ackAll,
    send: (e: ExecutorEvent) => actor.send(e),
    probes: () => effects.filter((e) => e.startsWith('probe:')).length,
    /** result answers the pending probe at the current time. */
    result(ok: boolean) {
      actor.send({
        type: 'HEALTH_RESULT',
        ok,
        message: ok ? undefined : 'exit 1',
        ...stamp(),
        killUuid: `k${n}`,
      });
    },
    advance(ms: number, step = 100) {
      for (let t = 0; t < ms; t += step) clock.increment(step);
    },
    healthUpdates: () => updates.filter((u) => u.healthy !== undefined).map((u) => `${u.state}:${u.healthy}`),
  };
}

const fast = {
  type: 'COMMAND',
  command: { value: 'true' },
  delaySeconds: 1,
  intervalSeconds: 2,
  gracePeriodSeconds: 0,
} as const;

describe('the executor machine with a health check (simulated clock)', () => {
  it('probes first delaySeconds after TASK_RUNNING, then intervalSeconds after each result', () => {
    const x = start(fast);
    x.ackAll();
    x.send({ type: 'SPAWNED', pid: 9, ...x.stamp() });
    x.advance(900);
    expect(x.probes()).toBe(0);
    x.advance(100);
    expect(x.probes()).toBe(1);
    // No next probe while one is out, however long it takes.
    x.advance(5000);
    expect(x.probes()).toBe(1);
    x.result(true);
    x.advance(1900);
    expect(x.probes()).toBe(1);
    x.advance(100);
    expect(x.probes()).toBe(2);
  });

  it('reports TASK_RUNNING healthy/unhealthy only when the verdict changes, with the health-check reason', () => {
    const x = start({ ...fast, consecutiveFailures: 0 });
    x.send({ type: 'SPAWNED', pid: 9, ...x.stamp() });
    for (const ok of [true, true, false, false, true]) {
      x.advance(2000);
      x.result(ok);
      x.ackAll();
    }
    expect(x.healthUpdates()).toEqual(['TASK_RUNNING:true', 'TASK_RUNNING:false', 'TASK_RUNNING:true']);
    const unhealthy = x.updates.find((u) => u.healthy === false);
    expect(unhealthy).toMatchObject({
      reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
      message: 'exit 1',
      source: 'SOURCE_EXECUTOR',
    });
    expect(new Set(x.updates.map((u) => u.uuid)).size).toBe(x.updates.length);
    expect(x.effects).not.toContain('SIGTERM');
  });

  it('kills the task after consecutiveFailures failures with its grace period; TASK_KILLED says unhealthy', () => {
    const x = start({ ...fast, consecutiveFailures: 2 }, { grace: 2 });
    x.send({ type: 'SPAWNED', pid: 9, ...x.stamp() });
    x.ackAll();
    x.advance(1000);
    x.result(false);
    x.advance(2000);
    expect(x.effects).not.toContain('SIGTERM');
    x.result(false);
    expect(x.actor.getSnapshot().value).toBe('killing');
    expect(x.effects.filter((e) => e.startsWith('SIG'))).toEqual(['SIGTERM']);
    x.advance(1900);
    expect(x.effects.filter((e) => e.startsWith('SIG'))).toEqual(['SIGTERM']);
    x.advance(100);
    expect(x.effects.filter((e) => e.startsWith('SIG'))).toEqual(['SIGTERM', 'SIGKILL']);
    // No probe is made once the kill has begun.
    const probes = x.probes();
    x.advance(10_000);
    expect(x.probes()).toBe(probes);
    x.send({ type: 'TASK_EXITED', exitCode: null, signal: 'SIGKILL', ...x.stamp() });
    x.ackAll();
    expect(x.updates.map((u) => u.state)).toEqual([
      'TASK_STARTING',
      'TASK_RUNNING',
      'TASK_RUNNING',
      'TASK_KILLED',
    ]);
    expect(x.updates.at(-1)).toMatchObject({ state: 'TASK_KILLED', healthy: false });
    expect(x.actor.getSnapshot().status).toBe('done');
  });

  it('sends TASK_KILLING before the end for a framework with TASK_KILLING_STATE, after the unhealthy update', () => {
    const x = start({ ...fast, consecutiveFailures: 1 }, { taskKillingState: true });
    x.send({ type: 'SPAWNED', pid: 9, ...x.stamp() });
    x.ackAll();
    x.advance(1000);
    x.result(false);
    x.ackAll();
    x.send({ type: 'TASK_EXITED', exitCode: null, signal: 'SIGTERM', ...x.stamp() });
    x.ackAll();
    expect(x.updates.map((u) => `${u.state}${u.healthy === undefined ? '' : `:${u.healthy}`}`)).toEqual([
      'TASK_STARTING',
      'TASK_RUNNING',
      'TASK_RUNNING:false',
      'TASK_KILLING',
      'TASK_KILLED:false',
    ]);
    expect(new Set(x.updates.map((u) => u.uuid)).size).toBe(5);
  });

  it('sends TASK_KILLING on a KILL only to a framework with TASK_KILLING_STATE', () => {
    for (const taskKillingState of [true, false]) {
      const x = start(fast, { taskKillingState });
      x.send({ type: 'SPAWNED', pid: 9, ...x.stamp() });
      x.ackAll();
      x.send({ type: 'KILL', gracePeriodSeconds: 1, ...x.stamp() });
      x.ackAll();
      x.send({ type: 'TASK_EXITED', exitCode: null, signal: 'SIGTERM', ...x.stamp() });
      x.ackAll();
      expect(x.updates.map((u) => u.state)).toEqual([
        'TASK_STARTING',
        'TASK_RUNNING',
        ...(taskKillingState ? ['TASK_KILLING'] : []),
        'TASK_KILLED',
      ]);
      expect(x.updates.at(-1)?.healthy).toBeUndefined();
    }
  });

  it('ignores a probe result that comes back after the task ended', () => {
    const x = start(fast);
    x.send({ type: 'SPAWNED', pid: 9, ...x.stamp() });
    x.advance(1000);
    x.send({ type: 'TASK_EXITED', exitCode: 0, signal: null, ...x.stamp() });
    x.result(false);
    x.ackAll();
    expect(x.updates.map((u) => u.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
  });
});
