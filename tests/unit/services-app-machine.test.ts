import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { silentLogger } from '../../bus/index.js';
import type { AppStep } from '../../frameworks/apps/app-machine.js';
import { appMachine } from '../../frameworks/apps/app-machine.js';
import { StepRunner, StepStoppedError } from '../../frameworks/apps/step-runner.js';

const tick = (now: number): AppStep => ({ type: 'TICK', now });

function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('app machine', () => {
  it('holds steps until READY, then runs them one at a time in arrival order', async () => {
    const log: string[] = [];
    const gates = [deferred(), deferred()];
    const runner = new StepRunner(async (s) => {
      const n = (s as { now: number }).now;
      log.push(`start ${n}`);
      await gates[n]?.promise;
      log.push(`end ${n}`);
      return n * 10;
    }, silentLogger);
    const a = runner.submit(tick(0));
    const b = runner.submit(tick(1));
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual([]);
    runner.ready();
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual(['start 0']);
    gates[1]?.resolve();
    gates[0]?.resolve();
    expect(await a).toBe(0);
    expect(await b).toBe(10);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1']);
    await runner.stop();
  });

  it('rejects only the step that failed and goes on with the next', async () => {
    const runner = new StepRunner(async (s) => {
      if ((s as { now: number }).now === 1) throw new Error('boom');
      return 'ok';
    }, silentLogger);
    runner.ready();
    const [a, b, c] = [runner.submit(tick(0)), runner.submit(tick(1)), runner.submit(tick(2))];
    await expect(a).resolves.toBe('ok');
    await expect(b).rejects.toThrow('boom');
    await expect(c).resolves.toBe('ok');
    await runner.stop();
  });

  it('on STOP finishes the step in hand, drops the queued ones and refuses new ones', async () => {
    const gate = deferred();
    const ran: number[] = [];
    const runner = new StepRunner(async (s) => {
      ran.push((s as { now: number }).now);
      await gate.promise;
    }, silentLogger);
    runner.ready();
    const current = runner.submit(tick(0));
    const queued = runner.submit(tick(1));
    await new Promise((r) => setTimeout(r, 10));
    const stopped = runner.stop();
    gate.resolve();
    await stopped;
    await expect(current).resolves.toBeUndefined();
    await expect(queued).rejects.toBeInstanceOf(StepStoppedError);
    await expect(runner.submit(tick(2))).rejects.toBeInstanceOf(StepStoppedError);
    expect(ran).toEqual([0]);
  });

  it('runs no step while this copy is not the active one (its lease lapsed)', async () => {
    let leads = true;
    const ran: number[] = [];
    const runner = new StepRunner(
      async (s) => {
        ran.push((s as { now: number }).now);
      },
      silentLogger,
      () => leads,
    );
    runner.ready();
    await runner.submit(tick(0));
    leads = false;
    await expect(runner.submit(tick(1))).rejects.toBeInstanceOf(StepStoppedError);
    expect(ran).toEqual([0]);
    await runner.stop();
  });

  it('queues in starting, works once READY, and only marks a STOP that arrives while a step is in hand', () => {
    const actor = createActor(
      appMachine.provide({
        actors: { runStep: fromPromise(() => new Promise<void>(() => {})) },
        actions: { dropSteps: () => {} },
      }),
    ).start();
    expect(actor.getSnapshot().value).toBe('starting');
    actor.send({ type: 'ENQUEUE', item: { id: 1, step: tick(0) } });
    expect(actor.getSnapshot().context.queue).toHaveLength(1);
    actor.send({ type: 'READY' });
    expect(actor.getSnapshot().value).toBe('working');
    actor.send({ type: 'STOP' });
    expect(actor.getSnapshot().context.stopping).toBe(true);
    expect(actor.getSnapshot().value).toBe('working');
    actor.stop();
  });
});
