import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { defaultMasterConfig } from '../../actors/master/config.js';
import { MasterError } from '../../actors/master/effects.js';
import { handleOperatorCall } from '../../actors/master/operator-calls.js';
import { handleSchedulerCall } from '../../actors/master/scheduler-calls.js';
import { createMasterState, type MasterState } from '../../actors/master/state.js';
import { runAllocation, tick } from '../../actors/master/tick.js';
import { FrameworkInfo, resources as R, type Resources } from '../../protocol/index.js';

const AGENTS = ['a1', 'a2', 'a3'];
const FRAMEWORKS: Record<string, string[]> = { f1: ['*'], f2: ['eng'], f3: ['eng', 'ads'] };
const sum = (lists: readonly Resources[]) => R.normalize(lists.flat());

/** Steps the master can take, drawn at random (the common ones more often); each names its target by index. */
const stepArb = fc.oneof(
  {
    arbitrary: fc.record({ kind: fc.constant('register' as const), agent: fc.nat(2), big: fc.boolean() }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('unregister' as const), agent: fc.nat(2) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('subscribe' as const), fw: fc.nat(2) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('allocate' as const) }), weight: 5 },
  {
    arbitrary: fc.record({
      kind: fc.constant('accept' as const),
      offer: fc.nat(20),
      cpus: fc.integer({ min: 1, max: 4 }),
      reserve: fc.boolean(),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('decline' as const),
      offer: fc.nat(20),
      refuse: fc.constantFrom(0, 5),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('finish' as const), task: fc.nat(20) }), weight: 3 },
  {
    arbitrary: fc.record({ kind: fc.constant('suppress' as const), fw: fc.nat(2), revive: fc.boolean() }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant('teardown' as const), fw: fc.nat(2) }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      ms: fc.constantFrom(500, 2_000, 6_000),
      silent: fc.nat(3),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('reservation' as const),
      agent: fc.nat(2),
      unreserve: fc.boolean(),
      cpus: fc.integer({ min: 1, max: 3 }),
    }),
    weight: 2,
  },
);
type Step = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

function apply(state: MasterState, step: Step, now: number): void {
  const fids = Object.keys(FRAMEWORKS);
  const offers = [...state.offers.values()].map((r) => r.offer);
  const tasks = [...state.frameworks.values()].flatMap((f) => [...f.tasks.values()]);
  switch (step.kind) {
    case 'register': {
      const id = AGENTS[step.agent];
      const res = step.big ? 'cpus:8;mem:4096' : 'cpus:4;mem:2048';
      handleAgentMessage(
        state,
        id,
        {
          type: 'REGISTER',
          agent: { id, hostname: id, resources: R.parseResources(res), attributes: {}, version: '0' },
          tasks: tasks
            .filter((t) => t.agentId === id)
            .map((t) => ({ frameworkId: t.frameworkId, task: t.info, status: t.status })),
          frameworks: [],
        },
        now,
      );
      return;
    }
    case 'unregister':
      handleAgentMessage(state, AGENTS[step.agent], { type: 'UNREGISTER' }, now);
      return;
    case 'subscribe': {
      const id = fids[step.fw];
      const framework = FrameworkInfo.parse({
        id,
        name: id,
        roles: FRAMEWORKS[id],
        failoverTimeoutSeconds: 5,
      });
      handleSchedulerCall(state, id, { type: 'SUBSCRIBE', framework }, now);
      return;
    }
    case 'allocate':
      runAllocation(state, now);
      return;
    case 'accept': {
      const offer = offers[step.offer % Math.max(1, offers.length)];
      if (!offer) return;
      const half = step.cpus / 2;
      const reserved = step.reserve && offer.role !== '*';
      const res = reserved ? `cpus(${offer.role}):${half};mem(${offer.role}):64` : `cpus:${half};mem:64`;
      handleSchedulerCall(
        state,
        offer.frameworkId,
        {
          type: 'ACCEPT',
          offerIds: [offer.id],
          operations: [
            ...(reserved ? [{ type: 'RESERVE' as const, resources: R.parseResources(res) }] : []),
            {
              type: 'LAUNCH',
              tasks: [
                {
                  taskId: `t${now}-${step.offer}`,
                  name: 't',
                  resources: R.parseResources(res),
                  command: { shell: true, value: 'true', env: {} },
                },
              ],
            },
          ],
          filters: { refuseSeconds: 1 },
        },
        now,
      );
      return;
    }
    case 'decline': {
      const offer = offers[step.offer % Math.max(1, offers.length)];
      if (!offer) return;
      handleSchedulerCall(
        state,
        offer.frameworkId,
        { type: 'DECLINE', offerIds: [offer.id], filters: { refuseSeconds: step.refuse } },
        now,
      );
      return;
    }
    case 'finish': {
      const t = tasks[step.task % Math.max(1, tasks.length)];
      if (!t) return;
      handleAgentMessage(
        state,
        t.agentId,
        {
          type: 'STATUS_UPDATE',
          update: {
            frameworkId: t.frameworkId,
            status: {
              taskId: t.info.taskId,
              agentId: t.agentId,
              state: 'TASK_FINISHED',
              source: 'SOURCE_EXECUTOR',
              uuid: 'u',
              timestamp: now,
            },
          },
        },
        now,
      );
      return;
    }
    case 'suppress':
      handleSchedulerCall(state, fids[step.fw], { type: step.revive ? 'REVIVE' : 'SUPPRESS' }, now);
      return;
    case 'teardown':
      handleSchedulerCall(state, fids[step.fw], { type: 'TEARDOWN' }, now);
      return;
    case 'tick':
      // Agents keep talking; one framework (by index; 3 is none) falls silent and may fail over.
      for (const id of AGENTS) handleAgentMessage(state, id, { type: 'HEARTBEAT' }, now);
      fids.forEach((id, i) => {
        if (i === step.silent || state.frameworks.get(id)?.status !== 'CONNECTED') return;
        handleSchedulerCall(state, id, { type: 'HEARTBEAT' }, now);
      });
      tick(state, now);
      return;
    case 'reservation':
      handleOperatorCall(
        state,
        {
          type: step.unreserve ? 'UNRESERVE_RESOURCES' : 'RESERVE_RESOURCES',
          agentId: AGENTS[step.agent],
          resources: R.parseResources(`cpus(eng):${step.cpus}`),
        },
        now,
      );
      return;
  }
}

/** checkInSync asserts that the master's records and the allocator's index tell the same story. */
function checkInSync(state: MasterState): void {
  for (const agent of state.agents.values()) {
    const tracked = state.allocator.agentAllocations(agent.info.id);
    if (agent.status !== 'ACTIVE') {
      expect(tracked).toBeUndefined();
      continue;
    }
    expect(tracked).toBeDefined();
    if (!tracked) continue;
    expect(R.normalize(tracked.total)).toEqual(R.normalize(agent.total));
    expect(sum(tracked.offered.map((h) => h.resources))).toEqual(R.normalize(agent.offered));
    expect(sum(tracked.used.map((h) => h.resources))).toEqual(R.normalize(agent.used));
    // Offered and used never exceed the total.
    expect(R.contains(agent.total, R.add(agent.offered, agent.used))).toBe(true);
    for (const h of tracked.used) {
      const fw = state.frameworks.get(h.frameworkId);
      const held = [...(fw?.tasks.values() ?? [])].filter(
        (t) =>
          t.agentId === agent.info.id &&
          t.role === h.role &&
          agent.tasks.has(`${t.frameworkId}/${t.info.taskId}`),
      );
      expect(sum(held.map((t) => t.info.resources))).toEqual(R.normalize(h.resources));
    }
  }
  expect(state.allocator.metrics().outstandingOffers).toBeLessThanOrEqual(state.offers.size);
}

describe('the master and its allocator', () => {
  it('keep the same books through any sequence of calls, messages, ticks and allocation runs', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 10, maxLength: 80, size: 'max' }), (drawn) => {
        // Start from a cluster with every agent and framework, then anything goes.
        const steps: Step[] = [
          ...AGENTS.map((_, agent) => ({ kind: 'register' as const, agent, big: false })),
          ...Object.keys(FRAMEWORKS).map((_, fw) => ({ kind: 'subscribe' as const, fw })),
          ...drawn,
        ];
        let now = 1_000_000;
        const state = createMasterState(
          defaultMasterConfig({
            masterId: 'm-sync',
            agentPingTimeoutSeconds: 1,
            frameworkHeartbeatIntervalSeconds: 1,
            offerTimeoutMs: 4_000,
          }),
          now,
        );
        for (const step of steps) {
          now += step.kind === 'tick' ? step.ms : 1;
          try {
            apply(state, step, now);
          } catch (err) {
            // Refused calls are part of the game; anything else is a bug.
            if (!(err instanceof MasterError)) throw err;
          }
          checkInSync(state);
        }
      }),
      { numRuns: 300 },
    );
  });
});
