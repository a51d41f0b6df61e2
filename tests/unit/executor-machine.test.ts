import { describe, expect, it } from 'vitest';
import { startExecutor as start } from '../support/executor-harness.js';

describe('the command executor actor', () => {
  it('reports STARTING, spawns, registers the task pid, and reports RUNNING only once STARTING is acked', () => {
    const x = start();
    expect(x.calls.map((c) => c.effect)).toEqual(['publishUpdate', 'spawnTask']);
    expect(x.calls[0].status).toMatchObject({
      taskId: 't1',
      state: 'TASK_STARTING',
      source: 'SOURCE_EXECUTOR',
      agentId: 'a1',
      executorId: 't1',
      uuid: 'u-start',
    });
    x.send({ type: 'SPAWNED', pid: 999, ...x.stamp() });
    expect(x.calls.find((c) => c.effect === 'publishRegister')).toEqual({
      effect: 'publishRegister',
      pid: 999,
    });
    expect(x.published()).toEqual(['TASK_STARTING:u-start']);
    x.ack('u-start');
    expect(x.published()).toEqual(['TASK_STARTING:u-start', 'TASK_RUNNING:u1']);
    expect(x.actor.getSnapshot().value).toBe('running');
  });

  it('resends the unacknowledged update after 1, 2, 4... s up to 10 s, and an ack of another uuid changes nothing', () => {
    const x = start();
    x.ack('not-it');
    const resentAt: number[] = [];
    for (let t = 0; t < 40_000; t += 100) {
      const before = x.published().length;
      x.advance(100);
      if (x.published().length > before) resentAt.push(x.clock.now());
    }
    // Sent at 0, resent at 1, 3, 7, 15, 25, 35 s: the gaps double (1, 2, 4, 8 s) and stop at 10 s.
    expect(resentAt).toEqual([1000, 3000, 7000, 15_000, 25_000, 35_000]);
    expect(new Set(x.published())).toEqual(new Set(['TASK_STARTING:u-start']));
    x.ack('u-start');
    x.advance(30_000);
    expect(x.published()).toHaveLength(resentAt.length + 1);
  });

  it('starts the next update at the first resend interval again', () => {
    const x = start();
    x.advance(3500);
    // STARTING was resent twice (1 s, 3 s); once acked, RUNNING goes out and waits 1 s, not 4 s.
    x.send({ type: 'SPAWNED', pid: 999, ...x.stamp() });
    x.ack('u-start');
    const sent = x.published().length;
    expect(x.published().at(-1)).toBe('TASK_RUNNING:u1');
    x.advance(1000);
    expect(x.published()).toHaveLength(sent + 1);
    expect(x.published().at(-1)).toBe('TASK_RUNNING:u1');
  });

  it('reports the exit status as the terminal update and is done once it is acked', () => {
    const x = start();
    x.send({ type: 'SPAWNED', pid: 999, ...x.stamp() });
    x.send({ type: 'TASK_EXITED', exitCode: 7, signal: null, ...x.stamp() });
    expect(x.actor.getSnapshot().value).toBe('reporting');
    x.ack('u-start');
    x.ack('u1');
    expect(x.calls.at(-1)?.status).toMatchObject({
      state: 'TASK_FAILED',
      exitCode: 7,
      message: 'Command exited with status 7',
    });
    x.ack('u2');
    expect(x.actor.getSnapshot().status).toBe('done');
  });

  it('kills with SIGTERM, escalates to SIGKILL after the grace period and reports TASK_KILLED', () => {
    const x = start();
    x.send({ type: 'SPAWNED', pid: 999, ...x.stamp() });
    x.send({ type: 'KILL', gracePeriodSeconds: 1.5 });
    expect(x.calls.filter((c) => c.effect === 'signalTask')).toEqual([
      { effect: 'signalTask', signal: 'SIGTERM' },
    ]);
    x.advance(1400);
    expect(x.calls.filter((c) => c.effect === 'signalTask')).toHaveLength(1);
    x.advance(100);
    expect(x.calls.filter((c) => c.effect === 'signalTask')).toEqual([
      { effect: 'signalTask', signal: 'SIGTERM' },
      { effect: 'signalTask', signal: 'SIGKILL' },
    ]);
    x.send({ type: 'TASK_EXITED', exitCode: null, signal: 'SIGKILL', ...x.stamp() });
    x.ack('u-start');
    x.ack('u1');
    expect(x.calls.filter((c) => c.effect === 'publishUpdate').at(-1)?.status).toMatchObject({
      state: 'TASK_KILLED',
      signal: 'SIGKILL',
    });
  });

  it('uses the default grace period for a kill that names none, and kills a task as soon as it spawns if told to while launching', () => {
    const x = start(4);
    x.send({ type: 'KILL' });
    expect(x.calls.filter((c) => c.effect === 'signalTask')).toEqual([]);
    x.send({ type: 'SPAWNED', pid: 999, ...x.stamp() });
    expect(x.actor.getSnapshot().value).toBe('killing');
    expect(x.calls.filter((c) => c.effect === 'signalTask')).toEqual([
      { effect: 'signalTask', signal: 'SIGTERM' },
    ]);
    x.advance(4000);
    expect(x.calls.filter((c) => c.effect === 'signalTask')).toHaveLength(2);
  });

  it('fails a command that cannot start', () => {
    const x = start();
    x.send({
      type: 'SPAWN_FAILED',
      program: 'nope',
      code: 'ENOENT',
      message: 'spawn nope ENOENT',
      ...x.stamp(),
    });
    x.ack('u-start');
    expect(x.calls.at(-1)?.status).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_COMMAND_EXECUTOR_FAILED',
    });
    x.ack('u1');
    expect(x.actor.getSnapshot().status).toBe('done');
  });

  it('gives up on an absent agent after 60 s and is done anyway', () => {
    const x = start();
    x.send({ type: 'SPAWNED', pid: 999, ...x.stamp() });
    x.send({ type: 'TASK_EXITED', exitCode: 0, signal: null, ...x.stamp() });
    x.advance(59_000, 1000);
    expect(x.actor.getSnapshot().status).toBe('active');
    x.advance(1000, 1000);
    expect(x.actor.getSnapshot().status).toBe('done');
    expect(x.calls.filter((c) => c.effect === 'warn')).toHaveLength(1);
  });

  it('runs a Docker task without registering a pid, and kills it with SIGTERM then SIGKILL after the grace', () => {
    const x = start(2);
    x.ack('u-start');
    x.send({ type: 'SPAWNED', ...x.stamp() });
    expect(x.calls.some((c) => c.effect === 'publishRegister')).toBe(false);
    expect(x.actor.getSnapshot().value).toBe('running');
    x.send({ type: 'KILL' });
    expect(x.calls.filter((c) => c.effect === 'signalTask').map((c) => c.signal)).toEqual(['SIGTERM']);
    x.advance(2000);
    expect(x.calls.filter((c) => c.effect === 'signalTask').map((c) => c.signal)).toEqual([
      'SIGTERM',
      'SIGKILL',
    ]);
  });

  it('fails a task whose container could not be made with REASON_CONTAINER_LAUNCH_FAILED', () => {
    const x = start();
    x.ack('u-start');
    x.send({ type: 'CONTAINER_FAILED', message: 'image nope:1 is not present on this agent', ...x.stamp() });
    const last = x.calls.filter((c) => c.effect === 'publishUpdate').at(-1);
    expect(last?.status).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      message: 'image nope:1 is not present on this agent',
    });
    expect(x.actor.getSnapshot().value).toBe('reporting');
  });
});
