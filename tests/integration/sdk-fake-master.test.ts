import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { BusError, type NatsBus, type Unsubscribe } from '../../bus/index.js';
import { Operator, Scheduler } from '../../frameworks/sdk/index.js';
import {
  subjects as makeSubjects,
  type Offer,
  OperatorCall,
  SchedulerCall,
  SchedulerEvent,
  type Subjects,
  TaskOutput,
  type TaskStatus,
} from '../../protocol/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';
import { waitFor } from '../support/processes.js';

/**
 * FakeMaster plays the master by hand over a real nats-server: it serves one framework's call
 * subject, records every call, and publishes whatever events a test tells it to.
 */
class FakeMaster {
  readonly calls: SchedulerCall[] = [];
  heartbeatIntervalSeconds = 15;
  private stop: Unsubscribe | undefined;

  constructor(
    private readonly bus: NatsBus,
    private readonly s: Subjects,
    readonly frameworkId: string,
  ) {}

  async serve(): Promise<void> {
    this.stop = this.bus.serve(this.s.scheduler(this.frameworkId), SchedulerCall, (call) => {
      this.calls.push(call);
      if (call.type === 'SUBSCRIBE') {
        if (call.framework.id !== this.frameworkId) throw new BusError('wrong framework id', 'BAD_REQUEST');
        const resubscribed = this.ofType('SUBSCRIBE').length > 1;
        return {
          frameworkId: this.frameworkId,
          heartbeatIntervalSeconds: this.heartbeatIntervalSeconds,
          masterId: 'fake',
          resubscribed,
        };
      }
      return {};
    });
    await this.bus.flush();
  }

  unserve(): void {
    this.stop?.();
  }

  send(event: z.input<typeof SchedulerEvent>): void {
    this.bus.publish(this.s.frameworkEvents(this.frameworkId), SchedulerEvent, event);
  }

  ofType<T extends SchedulerCall['type']>(type: T): Extract<SchedulerCall, { type: T }>[] {
    return this.calls.filter((c): c is Extract<SchedulerCall, { type: T }> => c.type === type);
  }
}

const offer = (id: string, frameworkId: string): Offer => ({
  id,
  frameworkId,
  agentId: 'agent-1',
  hostname: 'host-1',
  role: '*',
  resources: [
    { name: 'cpus', scalar: 1 },
    { name: 'mem', scalar: 256 },
  ],
  attributes: {},
});

describe('the SDK against a hand-played master over NATS', () => {
  let nats: TestNats;
  let s: Subjects;
  let masterBus: NatsBus;
  let n = 0;
  const open: Scheduler[] = [];

  beforeAll(async () => {
    nats = await startTestNats();
    s = makeSubjects(nats.prefix);
    masterBus = await nats.bus('fake-master');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((x) => x.close().catch(() => {})));
  });
  afterAll(async () => {
    await nats.stop();
  });

  async function setup(opts: { serve?: boolean } = {}) {
    const master = new FakeMaster(masterBus, s, `fw-int-${++n}`);
    if (opts.serve !== false) await master.serve();
    const scheduler = await Scheduler.start({
      nats: nats.url,
      prefix: nats.prefix,
      framework: { id: master.frameworkId, name: 'integration', failoverTimeoutSeconds: 60 },
    });
    open.push(scheduler);
    return { master, scheduler };
  }

  it('subscribes with its own id and FrameworkInfo, already listening for events', async () => {
    const { master, scheduler } = await setup();
    const sub = await scheduler.subscribed();
    expect(sub).toMatchObject({ frameworkId: master.frameworkId, masterId: 'fake', resubscribed: false });
    expect(master.ofType('SUBSCRIBE')).toEqual([
      {
        type: 'SUBSCRIBE',
        framework: expect.objectContaining({
          id: master.frameworkId,
          name: 'integration',
          failoverTimeoutSeconds: 60,
          roles: ['*'],
        }),
        session: expect.any(String),
      },
    ]);
  });

  it('hands offers to its handler and turns launch into the right ACCEPT call', async () => {
    const { master, scheduler } = await setup();
    await scheduler.subscribed();
    const got: Offer[][] = [];
    scheduler.on('offers', (offers) => {
      got.push(offers);
      void scheduler.launch(offers[0], [
        {
          taskId: 'task-1',
          name: 'hello',
          resources: [{ name: 'cpus', scalar: 0.5 }],
          command: { value: 'echo hello' },
        },
      ]);
    });
    master.send({ type: 'OFFERS', offers: [offer('offer-1', master.frameworkId)] });
    await waitFor(() => master.ofType('ACCEPT').length === 1, 5000, 'the ACCEPT call');
    expect(got).toHaveLength(1);
    expect(master.ofType('ACCEPT')[0]).toEqual({
      type: 'ACCEPT',
      offerIds: ['offer-1'],
      operations: [
        {
          type: 'LAUNCH',
          tasks: [
            {
              taskId: 'task-1',
              name: 'hello',
              agentId: 'agent-1',
              resources: [{ name: 'cpus', scalar: 0.5 }],
              command: { shell: true, value: 'echo hello', env: {} },
            },
          ],
        },
      ],
    });
  });

  it('acknowledges an update that carries a uuid after its handler ran, and not one without', async () => {
    const { master, scheduler } = await setup();
    await scheduler.subscribed();
    const seen: string[] = [];
    scheduler.on('update', (st) => void seen.push(`${st.taskId} ${st.state}`));
    const base: TaskStatus = {
      taskId: 'task-1',
      state: 'TASK_RUNNING',
      source: 'SOURCE_EXECUTOR',
      agentId: 'agent-1',
      timestamp: 1,
    };
    master.send({ type: 'UPDATE', status: { ...base, source: 'SOURCE_MASTER', state: 'TASK_LOST' } });
    master.send({ type: 'UPDATE', status: { ...base, uuid: 'uuid-1' } });
    await waitFor(() => master.ofType('ACKNOWLEDGE').length === 1, 5000, 'the ACKNOWLEDGE call');
    expect(seen).toEqual(['task-1 TASK_LOST', 'task-1 TASK_RUNNING']);
    expect(master.ofType('ACKNOWLEDGE')).toEqual([
      { type: 'ACKNOWLEDGE', agentId: 'agent-1', taskId: 'task-1', uuid: 'uuid-1' },
    ]);
  });

  it('closes on ERROR from the master, telling the error handler', async () => {
    const { master, scheduler } = await setup();
    await scheduler.subscribed();
    const errors: string[] = [];
    scheduler.on('error', (m) => errors.push(m));
    master.send({ type: 'ERROR', message: 'framework was torn down by an operator' });
    expect(await scheduler.closed()).toBe('the master sent ERROR: framework was torn down by an operator');
    expect(errors).toEqual(['framework was torn down by an operator']);
    expect(scheduler.phase).toBe('closed');
    await expect(scheduler.revive()).rejects.toThrow(/closed/);
  });

  it('retries SUBSCRIBE until a master answers', async () => {
    const { master, scheduler } = await setup({ serve: false });
    await new Promise((r) => setTimeout(r, 700)); // nobody answers the first attempts
    expect(scheduler.phase).toBe('subscribing');
    await master.serve();
    const sub = await scheduler.subscribed();
    expect(sub.frameworkId).toBe(master.frameworkId);
  });

  it('heartbeats, and resubscribes with the same id when the master falls silent', async () => {
    const { master, scheduler } = await setup({ serve: false });
    master.heartbeatIntervalSeconds = 0.2;
    await master.serve();
    await scheduler.subscribed();
    const disconnected: string[] = [];
    scheduler.on('disconnected', (r) => disconnected.push(r));
    // The master sends no events at all: after 3 intervals (600 ms) the scheduler resubscribes.
    await waitFor(() => master.ofType('SUBSCRIBE').length >= 2, 5000, 'a second SUBSCRIBE');
    expect(master.ofType('HEARTBEAT').length).toBeGreaterThanOrEqual(2);
    expect(disconnected[0]).toMatch(/no event from the master/);
    expect(master.ofType('SUBSCRIBE').map((c) => c.framework.id)).toEqual([
      master.frameworkId,
      master.frameworkId,
    ]);
  });

  it('stays subscribed while the master heartbeats', async () => {
    const { master, scheduler } = await setup({ serve: false });
    master.heartbeatIntervalSeconds = 0.2;
    await master.serve();
    await scheduler.subscribed();
    const beat = setInterval(() => master.send({ type: 'HEARTBEAT' }), 150);
    await new Promise((r) => setTimeout(r, 1000));
    clearInterval(beat);
    expect(master.ofType('SUBSCRIBE')).toHaveLength(1);
    expect(scheduler.phase).toBe('subscribed');
  });

  it('follows a task output subject', async () => {
    const { master, scheduler } = await setup();
    await scheduler.subscribed();
    const chunks: string[] = [];
    scheduler.followOutput('task-9', (c) =>
      chunks.push(`${c.stream} ${Buffer.from(c.data).toString()} ${c.eof}`),
    );
    await scheduler.flush();
    masterBus.publish(s.taskOutput(master.frameworkId, 'task-9'), TaskOutput, {
      stream: 'stdout',
      seq: 0,
      data: Buffer.from('hi\n'),
    });
    masterBus.publish(s.taskOutput(master.frameworkId, 'task-9'), TaskOutput, {
      stream: 'stdout',
      seq: 1,
      data: new Uint8Array(0),
      eof: true,
    });
    await waitFor(() => chunks.length === 2, 5000, 'two output chunks');
    expect(chunks).toEqual(['stdout hi\n false', 'stdout  true']);
  });

  it('tears down: TEARDOWN reaches the master and the scheduler closes', async () => {
    const { master, scheduler } = await setup();
    await scheduler.subscribed();
    await scheduler.teardown();
    expect(master.ofType('TEARDOWN')).toHaveLength(1);
    expect(scheduler.phase).toBe('closed');
  });

  it('lets an Operator client call the operator subject', async () => {
    const stop = masterBus.serve(s.operator(), OperatorCall, (call) => {
      if (call.type === 'GET_VERSION') return { version: '0.1.0', protocol: 'v1' };
      throw new BusError(`${call.type} not played here`, 'BAD_REQUEST');
    });
    await masterBus.flush();
    const op = await Operator.connect({ nats: nats.url, prefix: nats.prefix });
    try {
      expect(await op.version()).toEqual({ version: '0.1.0', protocol: 'v1' });
      await expect(op.agents()).rejects.toThrow('GET_AGENTS not played here');
    } finally {
      stop();
      await op.close();
    }
  });
});
