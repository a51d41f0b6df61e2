import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { type SchedulerNotice, type SubscribeOutcome, schedulerMachine } from '../../frameworks/sdk/index.js';
import type { FrameworkInfoInput, SchedulerEvent, Subscribed, TaskStatus } from '../../protocol/index.js';

const framework: FrameworkInfoInput = { id: 'fw-1', name: 'test' };
const subscribed = (heartbeatIntervalSeconds = 10, resubscribed = false): Subscribed => ({
  frameworkId: 'fw-1',
  heartbeatIntervalSeconds,
  masterId: 'm1',
  resubscribed,
});
const status = (over: Partial<TaskStatus> = {}): TaskStatus => ({
  taskId: 't1',
  state: 'TASK_RUNNING',
  source: 'SOURCE_EXECUTOR',
  agentId: 'a1',
  uuid: 'u1',
  timestamp: 1,
  ...over,
});

/** settle lets promise-based actors (the fake SUBSCRIBE) finish. */
const settle = () => new Promise((r) => setTimeout(r, 0));

/**
 * start runs the machine with a simulated clock and a scripted SUBSCRIBE: each attempt takes the
 * next outcome from `outcomes` (the last one repeats).
 */
function start(outcomes: SubscribeOutcome[], opts: { autoAcknowledge?: boolean } = {}) {
  const clock = new SimulatedClock();
  const notices: SchedulerNotice[] = [];
  const heartbeats: number[] = [];
  const acks: string[] = [];
  const attempts: { at: number; framework: FrameworkInfoInput }[] = [];
  let i = 0;
  const machine = schedulerMachine.provide({
    actors: {
      subscribe: fromPromise(async ({ input }) => {
        attempts.push({ at: clock.now(), framework: input.framework });
        return outcomes[Math.min(i++, outcomes.length - 1)];
      }),
    },
    actions: {
      notify: (_, n) => void notices.push(n),
      sendHeartbeat: () => void heartbeats.push(clock.now()),
      acknowledge: (_, a) => void acks.push(a.uuid),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: { framework, autoAcknowledge: opts.autoAcknowledge ?? true },
  }).start();
  const phase = () => {
    const v = actor.getSnapshot().value;
    return typeof v === 'string' ? v : Object.keys(v)[0];
  };
  const send = (event: SchedulerEvent) => actor.send({ type: 'EVENT', event });
  return { clock, actor, notices, heartbeats, acks, attempts, phase, send };
}

describe('the scheduler life cycle', () => {
  it('subscribes, tells the handlers, and heartbeats once every interval', async () => {
    const m = start([{ ok: true, subscribed: subscribed(10) }]);
    await settle();
    expect(m.phase()).toBe('subscribed');
    expect(m.notices).toEqual([{ type: 'subscribed', subscribed: subscribed(10) }]);
    for (let t = 0; t < 3; t++) {
      m.send({ type: 'HEARTBEAT' }); // the master's heartbeats keep the watchdog quiet
      m.clock.increment(10_000);
    }
    expect(m.heartbeats).toEqual([10_000, 20_000, 30_000]);
  });

  it('retries an unanswered SUBSCRIBE with growing delays: 500, 1000, 2000 ms', async () => {
    const m = start([
      { ok: false, retry: true, message: 'no answer' },
      { ok: false, retry: true, message: 'no answer' },
      { ok: false, retry: true, message: 'no answer' },
      { ok: true, subscribed: subscribed() },
    ]);
    await settle();
    for (const step of [500, 1000, 2000]) {
      expect(m.phase()).toBe('subscribing');
      m.clock.increment(step);
      await settle();
    }
    expect(m.attempts.map((a) => a.at)).toEqual([0, 500, 1500, 3500]);
    expect(m.phase()).toBe('subscribed');
  });

  it('closes with an error when the master refuses SUBSCRIBE', async () => {
    const m = start([{ ok: false, retry: false, message: 'framework fw-1 has been removed' }]);
    await settle();
    expect(m.phase()).toBe('closed');
    expect(m.notices).toEqual([
      { type: 'error', message: 'framework fw-1 has been removed' },
      { type: 'closed', reason: 'SUBSCRIBE was refused: framework fw-1 has been removed' },
    ]);
    expect(m.actor.getSnapshot().status).toBe('done');
  });

  it('resubscribes with the same framework after three silent heartbeat intervals', async () => {
    const m = start([
      { ok: true, subscribed: subscribed(10) },
      { ok: true, subscribed: subscribed(10, true) },
    ]);
    await settle();
    m.clock.increment(29_999);
    expect(m.phase()).toBe('subscribed');
    m.clock.increment(1);
    expect(m.phase()).toBe('resubscribing');
    expect(m.notices.at(-1)).toMatchObject({
      type: 'disconnected',
      reason: expect.stringMatching(/no event .* 3 heartbeat intervals/),
    });
    await settle();
    expect(m.phase()).toBe('subscribed');
    expect(m.attempts.map((a) => a.framework)).toEqual([framework, framework]);
    expect(m.notices.at(-1)).toEqual({ type: 'subscribed', subscribed: subscribed(10, true) });
  });

  it('stays subscribed while any event arrives within three intervals', async () => {
    const m = start([{ ok: true, subscribed: subscribed(10) }]);
    await settle();
    for (let t = 0; t < 10; t++) {
      m.clock.increment(25_000);
      m.send({ type: 'RESCIND', offerId: `o${t}` });
    }
    expect(m.phase()).toBe('subscribed');
  });

  it('resubscribes when the connection comes back', async () => {
    const m = start([{ ok: true, subscribed: subscribed() }]);
    await settle();
    m.actor.send({ type: 'RECONNECTED' });
    expect(m.phase()).toBe('resubscribing');
    await settle();
    expect(m.attempts).toHaveLength(2);
    expect(m.phase()).toBe('subscribed');
  });

  it('resubscribes when a call is answered "not subscribed"', async () => {
    const m = start([{ ok: true, subscribed: subscribed() }]);
    await settle();
    m.actor.send({
      type: 'SUBSCRIPTION_LOST',
      reason: 'the master answered HEARTBEAT: framework is disconnected',
    });
    expect(m.notices.at(-1)).toEqual({
      type: 'disconnected',
      reason: 'the master answered HEARTBEAT: framework is disconnected',
    });
  });

  it('hands events over in order and acknowledges updates that carry a uuid, after notifying', async () => {
    const m = start([{ ok: true, subscribed: subscribed() }]);
    await settle();
    m.send({ type: 'UPDATE', status: status({ uuid: 'u1' }) });
    m.send({ type: 'UPDATE', status: status({ uuid: undefined, source: 'SOURCE_MASTER' }) });
    m.send({ type: 'HEARTBEAT' });
    expect(m.notices.slice(1).map((n) => (n.type === 'event' ? n.event.type : n.type))).toEqual([
      'UPDATE',
      'UPDATE',
    ]);
    expect(m.acks).toEqual(['u1']);
  });

  it('acknowledges nothing when automatic acknowledgement is off', async () => {
    const m = start([{ ok: true, subscribed: subscribed() }], { autoAcknowledge: false });
    await settle();
    m.send({ type: 'UPDATE', status: status() });
    expect(m.acks).toEqual([]);
  });

  it('keeps events that arrive before SUBSCRIBE is answered and hands them over after SUBSCRIBED', async () => {
    let answer!: (o: SubscribeOutcome) => void;
    const clock = new SimulatedClock();
    const notices: SchedulerNotice[] = [];
    const actor = createActor(
      schedulerMachine.provide({
        actors: { subscribe: fromPromise(() => new Promise<SubscribeOutcome>((r) => (answer = r))) },
        actions: { notify: (_, n) => void notices.push(n), sendHeartbeat: () => {}, acknowledge: () => {} },
      }),
      { clock, input: { framework, autoAcknowledge: true } },
    ).start();
    await settle();
    actor.send({ type: 'EVENT', event: { type: 'OFFERS', offers: [] } });
    actor.send({ type: 'EVENT', event: { type: 'HEARTBEAT' } });
    expect(notices).toEqual([]);
    answer({ ok: true, subscribed: subscribed() });
    await settle();
    expect(notices.map((n) => n.type)).toEqual(['subscribed', 'event']);
  });

  it('closes on an ERROR event from the master, telling the handlers why', async () => {
    const m = start([{ ok: true, subscribed: subscribed() }]);
    await settle();
    m.send({ type: 'ERROR', message: 'framework was torn down by an operator' });
    expect(m.phase()).toBe('closed');
    expect(m.notices.slice(1)).toEqual([
      { type: 'error', message: 'framework was torn down by an operator' },
      { type: 'closed', reason: 'the master sent ERROR: framework was torn down by an operator' },
    ]);
  });

  it('closes on CLOSE from any phase and stops its timers', async () => {
    const m = start([{ ok: false, retry: true, message: 'no answer' }]);
    await settle();
    m.actor.send({ type: 'CLOSE' });
    m.clock.increment(60_000);
    await settle();
    expect(m.attempts).toHaveLength(1);
    expect(m.notices).toEqual([{ type: 'closed', reason: 'closed by the scheduler' }]);
  });
});
