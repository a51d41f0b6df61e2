import { describe, expect, it } from 'vitest';
import { type LoadRun, startLoad } from '../../frameworks/load/index.js';
import { FakeBus, type Responder } from '../../frameworks/sdk/index.js';
import {
  subjects as makeSubjects,
  type Offer,
  resources as R,
  SchedulerEvent,
} from '../../protocol/index.js';

const s = makeSubjects('test.v1');

/** master answers SUBSCRIBE for whichever framework asks and every other call with {}. */
const master: Responder = (_subject, call) => {
  const c = call as { type: string; framework?: { id: string } };
  if (c.type !== 'SUBSCRIBE') return {};
  return { frameworkId: c.framework?.id, heartbeatIntervalSeconds: 15, masterId: 'm1', resubscribed: false };
};

const offers = (n: number, frameworkId = 'load-0'): Offer[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `o${i}`,
    frameworkId,
    agentId: `a${i}`,
    hostname: `a${i}.sim`,
    role: '*',
    resources: R.parseResources('cpus:32;mem:131072'),
    attributes: {},
  }));

type Decline = { type: 'DECLINE'; offerIds: string[]; filters?: { refuseSeconds?: number } };
const settle = () => new Promise((r) => setTimeout(r, 20));

/** started runs one load instance on a FakeBus that submits at 1 task/s, so no task is waiting at first. */
async function started(extra: { maxPooledOffers?: number } = {}): Promise<{ bus: FakeBus; run: LoadRun }> {
  const bus = new FakeBus(master);
  const run = await startLoad({
    bus,
    prefix: 'test.v1',
    frameworks: 1,
    tasks: 100,
    taskResources: R.parseResources('cpus:0.1;mem:32'),
    ratePerSecond: 1,
    ...extra,
  });
  return { bus, run };
}

const running = (seq: number) => ({
  type: 'UPDATE' as const,
  status: {
    taskId: `t-${seq}`,
    state: 'TASK_RUNNING' as const,
    source: 'SOURCE_EXECUTOR' as const,
    agentId: 'a0',
    timestamp: 1,
  },
});

describe('the load framework: its offer pool and its latency samples', () => {
  it('keeps every offer it is given while tasks are still to come, declining none', async () => {
    const { bus, run } = await started();
    try {
      bus.publish(s.frameworkEvents('load-0'), SchedulerEvent, { type: 'OFFERS', offers: offers(600) });
      await settle();
      // 600 agents' offers held: none goes back to the master to be offered round the others.
      expect(bus.callsOfType('DECLINE')).toEqual([]);
      expect(run.stats()).toMatchObject({ offers: 600, declines: 0 });
    } finally {
      await run.stop();
    }
  });

  it('declines the offers beyond maxPooledOffers for 30 s, in calls of at most 1,000 offers', async () => {
    const { bus, run } = await started({ maxPooledOffers: 100 });
    try {
      bus.publish(s.frameworkEvents('load-0'), SchedulerEvent, { type: 'OFFERS', offers: offers(1600) });
      await settle();
      const declines = bus.callsOfType('DECLINE') as Decline[];
      // 1600 offered, 100 kept: 1500 declined as 1000 + 500.
      expect(declines.map((d) => d.offerIds.length)).toEqual([1000, 500]);
      expect(declines.every((d) => d.filters?.refuseSeconds === 30)).toBe(true);
      expect(declines.flatMap((d) => d.offerIds)).toEqual(
        offers(1600)
          .slice(100)
          .map((o) => o.id),
      );
      expect(run.stats().declines).toBe(1500);
    } finally {
      await run.stop();
    }
  });

  it('refuses a negative or fractional maxPooledOffers before it subscribes anything', async () => {
    for (const bad of [-1, 2.5, Number.NaN]) {
      const bus = new FakeBus(master);
      await expect(
        startLoad({
          bus,
          prefix: 'test.v1',
          frameworks: 1,
          tasks: 1,
          taskResources: R.parseResources('cpus:0.1;mem:32'),
          maxPooledOffers: bad,
        }),
      ).rejects.toThrow(/maxPooledOffers must be a non-negative integer/);
      expect(bus.requests).toEqual([]);
    }
  });

  it('samples the latency of the first sampleFirst tasks submitted only', async () => {
    const bus = new FakeBus(master);
    const run = await startLoad({
      bus,
      prefix: 'test.v1',
      frameworks: 1,
      tasks: 10,
      sampleFirst: 4,
      taskResources: R.parseResources('cpus:0.1;mem:32'),
    });
    try {
      bus.publish(s.frameworkEvents('load-0'), SchedulerEvent, { type: 'OFFERS', offers: offers(1) });
      await settle();
      // All ten launched in one ACCEPT; all ten RUNNING, but only tasks 0-3 are samples.
      expect(bus.callsOfType('ACCEPT')).toHaveLength(1);
      for (let seq = 0; seq < 10; seq++)
        bus.publish(s.frameworkEvents('load-0'), SchedulerEvent, running(seq));
      await settle();
      expect(run.stats().running).toBe(10);
      expect(run.latencies.count).toBe(4);
    } finally {
      await run.stop();
    }
  });

  it('refuses a negative or fractional sampleFirst before it subscribes anything', async () => {
    const bus = new FakeBus(master);
    await expect(
      startLoad({
        bus,
        prefix: 'test.v1',
        frameworks: 1,
        tasks: 1,
        sampleFirst: -2,
        taskResources: R.parseResources('cpus:0.1;mem:32'),
      }),
    ).rejects.toThrow(/sampleFirst must be a non-negative integer/);
    expect(bus.requests).toEqual([]);
  });

  it('stays unsuppressed while its pool is empty between submissions, and suppresses once its share is launched', async () => {
    const { bus, run } = await started();
    try {
      bus.publish(s.frameworkEvents('load-0'), SchedulerEvent, { type: 'OFFERS', offers: offers(1) });
      run.submit(1);
      await settle();
      // The one offer went into an ACCEPT: the pool is empty, 99 tasks are still to come.
      expect(bus.callsOfType('ACCEPT')).toHaveLength(1);
      expect(bus.callsOfType('SUPPRESS')).toEqual([]);
      bus.publish(s.frameworkEvents('load-0'), SchedulerEvent, { type: 'OFFERS', offers: offers(2) });
      run.submit(99);
      await settle();
      // All 100 launched: the spare offer goes back for an hour and offers stop.
      expect(bus.callsOfType('ACCEPT')).toHaveLength(2);
      expect(bus.callsOfType('DECLINE')).toMatchObject([
        { offerIds: ['o1'], filters: { refuseSeconds: 3600 } },
      ]);
      expect(bus.callsOfType('SUPPRESS')).toHaveLength(1);
    } finally {
      await run.stop();
    }
  });
});
