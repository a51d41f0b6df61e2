import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { RemoteError } from '../../bus/index.js';
import {
  acknowledgementFor,
  DEFAULT_PAGE_TASKS,
  FakeBus,
  launchCall,
  newFrameworkId,
  Operator,
  type Responder,
  routeEvent,
  Scheduler,
  SchedulerClosedError,
} from '../../frameworks/sdk/index.js';
import { ID_PATTERN, subjects as makeSubjects, type Offer, type TaskStatus } from '../../protocol/index.js';

const s = makeSubjects('test.v1');
const offer = (id: string, agentId = 'a1'): Offer => ({
  id,
  frameworkId: 'fw-1',
  agentId,
  hostname: 'h',
  role: '*',
  resources: [{ name: 'cpus', scalar: 1 }],
  attributes: {},
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
const settle = () => new Promise((r) => setTimeout(r, 0));

/** master is a scripted master: SUBSCRIBE succeeds, other calls answer {} unless `refuse` says otherwise. */
function master(refuse: (call: { type: string }) => RemoteError | undefined = () => undefined): Responder {
  return (_subject, call) => {
    const c = call as { type: string; framework?: { id: string } };
    const err = refuse(c);
    if (err) throw err;
    if (c.type === 'SUBSCRIBE') {
      return {
        frameworkId: c.framework?.id,
        heartbeatIntervalSeconds: 15,
        masterId: 'm1',
        resubscribed: false,
      };
    }
    return {};
  };
}

async function started(
  bus = new FakeBus(master()),
  extra: Partial<Parameters<typeof Scheduler.start>[0]> = {},
) {
  const scheduler = await Scheduler.start({
    nats: bus,
    prefix: 'test.v1',
    framework: { id: 'fw-1', name: 'test' },
    ...extra,
  });
  await scheduler.subscribed();
  return { bus, scheduler, events: s.frameworkEvents('fw-1') };
}

describe('the Scheduler', () => {
  it('listens on its events subject and flushes before it sends SUBSCRIBE', async () => {
    const { bus } = await started();
    expect(bus.log.slice(0, 3)).toEqual([
      `listen ${s.frameworkEvents('fw-1')}`,
      'flush',
      `request ${s.scheduler('fw-1')} SUBSCRIBE`,
    ]);
    expect(bus.requests[0].call).toMatchObject({
      type: 'SUBSCRIBE',
      framework: { id: 'fw-1', name: 'test', roles: ['*'] },
    });
  });

  it('picks a fresh framework id matching the protocol id pattern when none is given', async () => {
    const bus = new FakeBus(master());
    const scheduler = await Scheduler.start({ nats: bus, prefix: 'test.v1', framework: { name: 'x' } });
    expect(scheduler.frameworkId).toMatch(ID_PATTERN);
    expect(newFrameworkId()).not.toBe(newFrameworkId());
    await scheduler.close();
  });

  it('refuses an invalid FrameworkInfo before touching the bus', async () => {
    const bus = new FakeBus(master());
    await expect(
      Scheduler.start({ nats: bus, framework: { name: 'x', roles: ['bad role!'] } }),
    ).rejects.toThrow(/roles/);
    expect(bus.log).toEqual([]);
  });

  it('emits offers, rescinds and failures to handlers', async () => {
    const { bus, scheduler, events } = await started();
    const seen: string[] = [];
    scheduler.on('offers', (o) => seen.push(`offers ${o.map((x) => x.id)}`));
    scheduler.on('rescind', (id) => seen.push(`rescind ${id}`));
    scheduler.on('failure', (f) => seen.push(`failure ${f.agentId}`));
    bus.deliver(events, { type: 'OFFERS', offers: [offer('o1')] });
    bus.deliver(events, { type: 'RESCIND', offerId: 'o1' });
    bus.deliver(events, { type: 'FAILURE', agentId: 'a1' });
    expect(seen).toEqual(['offers o1', 'rescind o1', 'failure a1']);
  });

  it('acknowledges an update with a uuid only after every update handler has finished', async () => {
    const { bus, scheduler, events } = await started();
    let release!: () => void;
    scheduler.on('update', () => new Promise<void>((r) => (release = r)));
    bus.deliver(events, { type: 'UPDATE', status: status() });
    await settle();
    expect(bus.callsOfType('ACKNOWLEDGE')).toEqual([]);
    release();
    await settle();
    expect(bus.callsOfType('ACKNOWLEDGE')).toEqual([
      { type: 'ACKNOWLEDGE', agentId: 'a1', taskId: 't1', uuid: 'u1' },
    ]);
  });

  it('leaves an update unacknowledged when a handler throws, so the agent sends it again', async () => {
    const { bus, scheduler, events } = await started();
    scheduler.on('update', () => {
      throw new Error('boom');
    });
    bus.deliver(events, { type: 'UPDATE', status: status() });
    await settle();
    expect(bus.callsOfType('ACKNOWLEDGE')).toEqual([]);
  });

  it('does not acknowledge master-made statuses (no uuid), and acknowledge() on them is a no-op', async () => {
    const { bus, scheduler, events } = await started();
    const masterMade = status({ uuid: undefined, source: 'SOURCE_MASTER', state: 'TASK_LOST' });
    bus.deliver(events, { type: 'UPDATE', status: masterMade });
    await scheduler.acknowledge(masterMade);
    await settle();
    expect(bus.callsOfType('ACKNOWLEDGE')).toEqual([]);
  });

  it('launches on an offer with one ACCEPT carrying a LAUNCH, filling in the agent', async () => {
    const { bus, scheduler } = await started();
    await scheduler.launch(
      offer('o1', 'a7'),
      [{ taskId: 't1', name: 't', resources: [{ name: 'cpus', scalar: 0.1 }], command: { value: 'true' } }],
      { refuseSeconds: 30 },
    );
    expect(bus.callsOfType('ACCEPT')).toEqual([
      {
        type: 'ACCEPT',
        offerIds: ['o1'],
        operations: [
          {
            type: 'LAUNCH',
            tasks: [
              {
                taskId: 't1',
                name: 't',
                agentId: 'a7',
                resources: [{ name: 'cpus', scalar: 0.1 }],
                command: { shell: true, value: 'true', env: {} },
              },
            ],
          },
        ],
        filters: { refuseSeconds: 30 },
      },
    ]);
  });

  it('sends decline, kill, reconcile, suppress and revive as calls on its own subject', async () => {
    const { bus, scheduler } = await started();
    await scheduler.decline(['o1', 'o2']);
    await scheduler.kill('t1', 'a1');
    await scheduler.reconcile();
    await scheduler.suppress();
    await scheduler.revive(['*']);
    expect(bus.requests.slice(1).map((r) => [r.subject, r.call])).toEqual([
      [s.scheduler('fw-1'), { type: 'DECLINE', offerIds: ['o1', 'o2'] }],
      [s.scheduler('fw-1'), { type: 'KILL', taskId: 't1', agentId: 'a1' }],
      [s.scheduler('fw-1'), { type: 'RECONCILE', tasks: [] }],
      [s.scheduler('fw-1'), { type: 'SUPPRESS' }],
      [s.scheduler('fw-1'), { type: 'REVIVE', roles: ['*'] }],
    ]);
  });

  it('rejects a refused call with the RemoteError, and resubscribes when the master says "not subscribed"', async () => {
    let refuseKills = true;
    const bus = new FakeBus(
      master((c) =>
        c.type === 'KILL' && refuseKills
          ? new RemoteError('framework fw-1 is disconnected; SUBSCRIBE again first', 'CONFLICT')
          : undefined,
      ),
    );
    const { scheduler } = await started(bus);
    const disconnected: string[] = [];
    scheduler.on('disconnected', (r) => disconnected.push(r));
    await expect(scheduler.kill('t1')).rejects.toBeInstanceOf(RemoteError);
    expect(disconnected).toHaveLength(1);
    await settle();
    expect(bus.callsOfType('SUBSCRIBE')).toHaveLength(2);
    expect(scheduler.phase).toBe('subscribed');
    refuseKills = false;
    await scheduler.kill('t1');
  });

  it('closes on an ERROR event: emits error, then closed, and refuses further calls', async () => {
    const { bus, scheduler, events } = await started();
    const seen: string[] = [];
    scheduler.on('error', (m) => seen.push(`error ${m}`));
    scheduler.on('closed', (r) => seen.push(`closed ${r}`));
    bus.deliver(events, { type: 'ERROR', message: 'torn down' });
    expect(seen).toEqual(['error torn down', 'closed the master sent ERROR: torn down']);
    expect(scheduler.phase).toBe('closed');
    await expect(scheduler.decline('o1')).rejects.toBeInstanceOf(SchedulerClosedError);
    expect(bus.listening(events)).toBe(false);
  });

  it('does not throw when nobody listens to error', async () => {
    const { bus, scheduler, events } = await started();
    expect(() => bus.deliver(events, { type: 'ERROR', message: 'x' })).not.toThrow();
    expect(await scheduler.closed()).toMatch(/ERROR: x/);
  });

  it('tears down: TEARDOWN, then closed, leaving a shared bus open', async () => {
    const { bus, scheduler } = await started();
    await scheduler.teardown();
    expect(bus.callsOfType('TEARDOWN')).toHaveLength(1);
    expect(scheduler.phase).toBe('closed');
    expect(bus.closed).toBe(false);
  });

  it('follows a task output subject until unsubscribed or closed', async () => {
    const { bus, scheduler } = await started();
    const chunks: string[] = [];
    const stop = scheduler.followOutput('t1', (c) =>
      chunks.push(`${c.stream}:${Buffer.from(c.data).toString()}`),
    );
    const subject = s.taskOutput('fw-1', 't1');
    bus.deliver(subject, { stream: 'stdout', seq: 0, data: Buffer.from('hi') });
    stop();
    bus.deliver(subject, { stream: 'stdout', seq: 1, data: Buffer.from('lost') });
    scheduler.followOutput('t2', () => {});
    await scheduler.close();
    expect(chunks).toEqual(['stdout:hi']);
    expect(bus.listening(s.taskOutput('fw-1', 't2'))).toBe(false);
  });

  it('heartbeats on the clock it is given, and resubscribes after 3 silent intervals', async () => {
    const clock = new SimulatedClock();
    const bus = new FakeBus(master());
    const { scheduler } = await started(bus, { clock });
    clock.increment(15_000);
    expect(bus.callsOfType('HEARTBEAT')).toHaveLength(1);
    clock.increment(30_000);
    await settle();
    expect(bus.callsOfType('SUBSCRIBE')).toHaveLength(2);
    await scheduler.close();
  });

  it('rejects subscribed() when the master refuses SUBSCRIBE', async () => {
    const bus = new FakeBus(
      master((c) => (c.type === 'SUBSCRIBE' ? new RemoteError('removed', 'FORBIDDEN') : undefined)),
    );
    const errors: string[] = [];
    const scheduler = await Scheduler.start({
      nats: bus,
      framework: { id: 'fw-1', name: 'x' },
      handlers: { error: (m) => errors.push(m) },
    });
    await expect(scheduler.subscribed()).rejects.toThrow(/removed/);
    expect(errors).toEqual(['removed']);
  });
});

describe('the scheduler call builders', () => {
  it('acknowledges only statuses with a uuid and an agent', () => {
    expect(acknowledgementFor(status())).toEqual({
      type: 'ACKNOWLEDGE',
      agentId: 'a1',
      taskId: 't1',
      uuid: 'u1',
    });
    expect(acknowledgementFor(status({ uuid: undefined }))).toBeUndefined();
    expect(acknowledgementFor(status({ agentId: undefined }))).toBeUndefined();
  });

  it('keeps an explicit task agent and accepts plain offer ids', () => {
    const call = launchCall(
      ['o1', 'o2'],
      [{ taskId: 't', name: 't', agentId: 'a9', resources: [], command: { value: 'x' } }],
    );
    expect(call).toMatchObject({ offerIds: ['o1', 'o2'], operations: [{ tasks: [{ agentId: 'a9' }] }] });
    expect(call).not.toHaveProperty('filters');
  });

  it('routes heartbeats nowhere, updates to handlers then acknowledgement', () => {
    expect(routeEvent({ type: 'HEARTBEAT' }, true)).toEqual([]);
    expect(routeEvent({ type: 'UPDATE', status: status() }, true).map((r) => r.type)).toEqual([
      'notify',
      'acknowledge',
    ]);
    expect(routeEvent({ type: 'UPDATE', status: status() }, false).map((r) => r.type)).toEqual(['notify']);
  });
});

describe('the Operator client', () => {
  it('sends typed calls on the operator subject and unwraps list results', async () => {
    const bus = new FakeBus((_subject, call) => {
      const c = call as { type: string };
      if (c.type === 'GET_TASKS') return { tasks: [] };
      if (c.type === 'KILL_TASK') return { frameworkId: 'fw-1', agentId: 'a1' };
      if (c.type === 'GET_HEALTH') return { healthy: true, leading: true, masterId: 'm1' };
      throw new RemoteError('nope', 'BAD_REQUEST');
    });
    const op = await Operator.connect({ nats: bus, prefix: 'test.v1' });
    expect(await op.tasks('fw-1')).toEqual([]);
    expect(await op.killTask('t1')).toEqual({ frameworkId: 'fw-1', agentId: 'a1' });
    expect((await op.health()).healthy).toBe(true);
    await expect(op.agents()).rejects.toThrow('nope');
    expect(bus.requests.map((r) => [r.subject, r.call])).toEqual([
      // Tasks are asked for as a table, page by page: one page answers everything here.
      [
        s.operator(),
        {
          type: 'GET_TASKS',
          frameworkId: 'fw-1',
          tasksFrom: 0,
          maxTasks: DEFAULT_PAGE_TASKS,
          tasksAs: 'table',
        },
      ],
      [s.operator(), { type: 'KILL_TASK', taskId: 't1' }],
      [s.operator(), { type: 'GET_HEALTH' }],
      [s.operator(), { type: 'GET_AGENTS' }],
    ]);
  });
});
