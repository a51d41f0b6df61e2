import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type MasterHandle, startMaster } from '../../actors/master/index.js';
import { type NatsBus, RemoteError, silentLogger } from '../../bus/index.js';
import {
  AgentToMaster,
  FrameworkInfo,
  MasterToAgent,
  subjects as makeSubjects,
  OperatorCall,
  OperatorResult,
  resources as R,
  Registered,
  SchedulerCall,
  SchedulerEvent,
  type Subjects,
  Subscribed,
} from '../../protocol/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';

/** collect gathers validated messages from a subject and lets a test wait for one. */
function collector<T>(bus: NatsBus, subject: string, schema: z.ZodType<T>) {
  const got: T[] = [];
  const waiters: { pred: (m: T) => boolean; resolve: (m: T) => void }[] = [];
  bus.listen(subject, schema, (m) => {
    got.push(m);
    for (const w of [...waiters])
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
  });
  return {
    got,
    next: (pred: (m: T) => boolean, timeoutMs = 5000) =>
      new Promise<T>((resolve, reject) => {
        const hit = got.find(pred);
        if (hit) return resolve(hit);
        const t = setTimeout(() => reject(new Error(`timed out waiting on ${subject}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (m) => {
            clearTimeout(t);
            resolve(m);
          },
        });
      }),
  };
}

describe('the master over NATS', () => {
  let nats: TestNats;
  let s: Subjects;
  let master: MasterHandle;
  let bus: NatsBus;

  beforeAll(async () => {
    nats = await startTestNats();
    s = makeSubjects(nats.prefix);
    master = await startMaster({
      bus: await nats.bus('master'),
      subjects: s,
      log: silentLogger,
      config: { allocationIntervalMs: 100, agentPingTimeoutSeconds: 1 },
    });
    bus = await nats.bus('peer');
  });
  afterAll(async () => {
    await master.stop();
    await nats.stop();
  });

  it('runs a task from SUBSCRIBE through an agent to TASK_FINISHED with acknowledgement', async () => {
    const toAgent = collector(bus, s.agent('ag1'), MasterToAgent);
    const events = collector(bus, s.frameworkEvents('fw1'), SchedulerEvent);
    await bus.flush();
    const reg = await bus.request(
      s.masterAgent('ag1'),
      AgentToMaster,
      {
        type: 'REGISTER',
        agent: { id: 'ag1', hostname: 'h1', resources: R.parseResources('cpus:2;mem:512'), version: '0.1.0' },
      },
      Registered,
    );
    expect(reg.agentId).toBe('ag1');
    const sub = await bus.request(
      s.scheduler('fw1'),
      SchedulerCall,
      { type: 'SUBSCRIBE', framework: FrameworkInfo.parse({ id: 'fw1', name: 'test' }) },
      Subscribed,
    );
    expect(sub).toMatchObject({ frameworkId: 'fw1', masterId: master.masterId });
    const offers = await events.next((e) => e.type === 'OFFERS');
    const offer = offers.type === 'OFFERS' ? offers.offers[0] : undefined;
    expect(offer?.agentId).toBe('ag1');
    await bus.request(
      s.scheduler('fw1'),
      SchedulerCall,
      {
        type: 'ACCEPT',
        offerIds: [offer?.id as string],
        operations: [
          {
            type: 'LAUNCH',
            tasks: [
              {
                taskId: 't1',
                name: 't1',
                resources: R.parseResources('cpus:1;mem:64'),
                command: { value: 'true' },
              },
            ],
          },
        ],
      },
      z.object({}),
    );
    const run = await toAgent.next((m) => m.type === 'RUN_TASK');
    expect(run).toMatchObject({ type: 'RUN_TASK', task: { taskId: 't1', agentId: 'ag1' } });
    bus.publish(s.masterAgent('ag1'), AgentToMaster, {
      type: 'STATUS_UPDATE',
      update: {
        frameworkId: 'fw1',
        status: {
          taskId: 't1',
          agentId: 'ag1',
          state: 'TASK_FINISHED',
          source: 'SOURCE_EXECUTOR',
          uuid: 'uuid-1',
          timestamp: Date.now(),
        },
      },
    });
    const update = await events.next((e) => e.type === 'UPDATE');
    expect(update).toMatchObject({ status: { taskId: 't1', state: 'TASK_FINISHED', uuid: 'uuid-1' } });
    await bus.request(
      s.scheduler('fw1'),
      SchedulerCall,
      { type: 'ACKNOWLEDGE', agentId: 'ag1', taskId: 't1', uuid: 'uuid-1' },
      z.object({}),
    );
    expect(await toAgent.next((m) => m.type === 'STATUS_UPDATE_ACK')).toEqual({
      type: 'STATUS_UPDATE_ACK',
      frameworkId: 'fw1',
      taskId: 't1',
      uuid: 'uuid-1',
    });
    const { tasks } = await bus.request(
      s.operator(),
      OperatorCall,
      { type: 'GET_TASKS' },
      OperatorResult.GET_TASKS,
    );
    expect(tasks).toMatchObject([
      { taskId: 't1', state: 'TASK_FINISHED', frameworkId: 'fw1', agentId: 'ag1' },
    ]);
  });

  it('answers operator calls with typed results and unknown ids with NOT_FOUND', async () => {
    const health = await bus.request(
      s.operator(),
      OperatorCall,
      { type: 'GET_HEALTH' },
      OperatorResult.GET_HEALTH,
    );
    expect(health).toEqual({ healthy: true, leading: true, masterId: master.masterId });
    const version = await bus.request(
      s.operator(),
      OperatorCall,
      { type: 'GET_VERSION' },
      OperatorResult.GET_VERSION,
    );
    expect(version.protocol).toBe('v1');
    const err = await bus
      .request(s.operator(), OperatorCall, { type: 'KILL_TASK', taskId: 'nope' }, OperatorResult.KILL_TASK)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).code).toBe('NOT_FOUND');
  });

  it('rescinds offers when an agent stops heartbeating', async () => {
    const events = collector(bus, s.frameworkEvents('fw2'), SchedulerEvent);
    await bus.flush();
    await bus.request(
      s.scheduler('fw2'),
      SchedulerCall,
      { type: 'SUBSCRIBE', framework: FrameworkInfo.parse({ id: 'fw2', name: 'test2' }) },
      Subscribed,
    );
    await bus.request(
      s.masterAgent('ag2'),
      AgentToMaster,
      {
        type: 'REGISTER',
        agent: {
          id: 'ag2',
          hostname: 'h2',
          resources: R.parseResources('cpus:8;mem:4096'),
          version: '0.1.0',
        },
      },
      Registered,
    );
    const offered = await events.next(
      (e) => e.type === 'OFFERS' && e.offers.some((o) => o.agentId === 'ag2'),
    );
    const offerId =
      offered.type === 'OFFERS' ? offered.offers.find((o) => o.agentId === 'ag2')?.id : undefined;
    // ag2 never heartbeats: after 5 missed 1 s heartbeats the master gives up on it.
    const rescind = await events.next((e) => e.type === 'RESCIND' && e.offerId === offerId, 10_000);
    expect(rescind).toEqual({ type: 'RESCIND', offerId });
    expect(master.state().agents.find((a) => a.id === 'ag2')?.status).toBe('UNREACHABLE');
  });
});
