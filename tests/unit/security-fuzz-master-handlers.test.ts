import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { defaultMasterConfig } from '../../actors/master/config.js';
import { MasterError } from '../../actors/master/effects.js';
import { handleOperatorCall } from '../../actors/master/operator-calls.js';
import { handleSchedulerCall } from '../../actors/master/scheduler-calls.js';
import { createMasterState, type MasterState } from '../../actors/master/state.js';
import { runAllocation, tick } from '../../actors/master/tick.js';
import { stateView } from '../../actors/master/views.js';
import {
  AgentToMaster,
  OperatorCall,
  resources as R,
  SchedulerCall,
  StateView,
  TaskState,
} from '../../protocol/index.js';

/**
 * The master's handlers under sequences of calls that pass validation but are chosen by an
 * adversary: ids of other frameworks and agents, offers not one's own, tasks in any state,
 * reservations for any role, agents marked gone mid-flight. Every step either succeeds or is
 * refused with a MasterError (which changes nothing), and the state stays consistent.
 */

const FIDS = ['fw-a', 'fw-b'];
const AIDS = ['a-1', 'a-2'];
const TIDS = ['t-1', 't-2', 't-3'];
const ROLES = ['*', 'web', 'ops'];
const STATES = Object.values(TaskState);

const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const res = fc
  .record({ cpus: fc.constantFrom(0.1, 1, 2, 5), mem: fc.constantFrom(16, 128, 4096), role: pick(ROLES) })
  .map(({ cpus, mem, role }) =>
    R.parseResources(role === '*' ? `cpus:${cpus};mem:${mem}` : `cpus(${role}):${cpus};mem(${role}):${mem}`),
  );
const unreserved = fc
  .record({ cpus: fc.constantFrom(0.1, 1, 2), mem: fc.constantFrom(16, 128) })
  .map(({ cpus, mem }) => R.parseResources(`cpus:${cpus};mem:${mem}`));
const taskInfo = fc
  .record({ taskId: pick(TIDS), resources: fc.oneof(unreserved, unreserved, res) })
  .map(({ taskId, resources }) => ({
    taskId,
    name: taskId,
    resources,
    command: { value: 'true' },
  }));

/** Step is one thing the adversary does; offer indexes pick among the offers outstanding then. */
type Step =
  | { kind: 'scheduler'; fid: string; call: unknown; offerIndex: number }
  | { kind: 'agent'; aid: string; msg: unknown }
  | { kind: 'operator'; call: unknown }
  | { kind: 'allocate' }
  | { kind: 'tick'; ms: number };

const schedulerCall = fc.oneof(
  fc
    .record({ type: fc.constant('SUBSCRIBE'), roles: fc.subarray(ROLES, { minLength: 1 }), fid: pick(FIDS) })
    .map(({ roles, fid }) => ({
      type: 'SUBSCRIBE',
      framework: { id: fid, name: fid, roles, capabilities: ['PARTITION_AWARE'] },
    })),
  fc
    .record({ tasks: fc.array(taskInfo, { minLength: 1, maxLength: 3 }), refuse: fc.constantFrom(0, 5) })
    .map(({ tasks, refuse }) => ({
      type: 'ACCEPT',
      offerIds: ['OFFER'],
      operations: [{ type: 'LAUNCH', tasks }],
      filters: { refuseSeconds: refuse },
    })),
  res.map((r) => ({ type: 'ACCEPT', offerIds: ['OFFER'], operations: [{ type: 'RESERVE', resources: r }] })),
  res.map((r) => ({
    type: 'ACCEPT',
    offerIds: ['OFFER'],
    operations: [{ type: 'UNRESERVE', resources: r }],
  })),
  fc.constant({ type: 'DECLINE', offerIds: ['OFFER'] }),
  fc.constant({ type: 'REVIVE' }),
  pick(ROLES).map((r) => ({ type: 'SUPPRESS', roles: [r] })),
  pick(TIDS).map((t) => ({ type: 'KILL', taskId: t })),
  fc
    .record({ aid: pick(AIDS), tid: pick(TIDS), uuid: fc.constantFrom('u-1', 'u-2') })
    .map(({ aid, tid, uuid }) => ({
      type: 'ACKNOWLEDGE',
      agentId: aid,
      taskId: tid,
      uuid,
    })),
  fc.subarray(TIDS).map((ts) => ({ type: 'RECONCILE', tasks: ts.map((taskId) => ({ taskId })) })),
  fc.constant({ type: 'HEARTBEAT' }),
  fc.constant({ type: 'TEARDOWN' }),
);

const agentMsg = (aid: string) =>
  fc.oneof(
    fc.constant({
      type: 'REGISTER',
      agent: { id: aid, hostname: aid, resources: R.parseResources('cpus:4;mem:4096'), version: '0.1.0' },
    }),
    fc.constant({ type: 'HEARTBEAT' }),
    fc.constant({ type: 'UNREGISTER' }),
    fc
      .record({
        fid: pick(FIDS),
        tid: pick(TIDS),
        state: pick(STATES),
        uuid: fc.constantFrom('u-1', 'u-2', 'u-3'),
      })
      .map(({ fid, tid, state, uuid }) => ({
        type: 'STATUS_UPDATE',
        update: {
          frameworkId: fid,
          status: { taskId: tid, state, source: 'SOURCE_EXECUTOR', agentId: aid, uuid, timestamp: 1 },
        },
      })),
  );

const operatorCall = fc.oneof(
  fc
    .record({ aid: pick(AIDS), r: res })
    .map(({ aid, r }) => ({ type: 'RESERVE_RESOURCES', agentId: aid, resources: r })),
  fc
    .record({ aid: pick(AIDS), r: res })
    .map(({ aid, r }) => ({ type: 'UNRESERVE_RESOURCES', agentId: aid, resources: r })),
  fc.record({ role: pick(ROLES.slice(1)), g: res }).map(({ role, g }) => ({
    type: 'UPDATE_QUOTA',
    role,
    guarantee: g.map(({ role: _r, ...x }) => x),
  })),
  fc.record({ role: pick(ROLES.slice(1)), w: fc.constantFrom(0.5, 1, 3) }).map(({ role, w }) => ({
    type: 'UPDATE_WEIGHTS',
    weights: [{ role, weight: w }],
  })),
  pick(AIDS).map((aid) => ({ type: 'MARK_AGENT_GONE', agentId: aid })),
  pick(FIDS).map((fid) => ({ type: 'TEARDOWN', frameworkId: fid })),
  pick(TIDS).map((t) => ({ type: 'KILL_TASK', taskId: t })),
  fc.constantFrom(
    { type: 'GET_STATE' },
    { type: 'GET_ROLES' },
    { type: 'GET_METRICS' },
    { type: 'GET_TASKS' },
  ),
);

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .record({ fid: pick(FIDS), call: schedulerCall, offerIndex: fc.nat(5) })
      .map((s) => ({ kind: 'scheduler' as const, ...s })),
  },
  {
    weight: 3,
    arbitrary: pick(AIDS).chain((aid) => agentMsg(aid).map((msg) => ({ kind: 'agent' as const, aid, msg }))),
  },
  { weight: 2, arbitrary: operatorCall.map((call) => ({ kind: 'operator' as const, call })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'allocate' as const }) },
  { weight: 1, arbitrary: fc.constantFrom(100, 5000, 60_000).map((ms) => ({ kind: 'tick' as const, ms })) },
);

/** Reached counts what the adversary got through to, so the test knows it went past the refusals. */
const reached = { steps: 0, launched: 0, refused: 0 };

/** run applies steps to a fresh master; it throws on anything but a MasterError refusal. */
function run(steps: Step[]): MasterState {
  let now = 1_000_000;
  const state = createMasterState(defaultMasterConfig({ masterId: 'm-fuzz' }), now, { agentOrder: 'added' });
  const refuse = (f: () => { effects: { kind: string; message?: { type: string } }[] }) => {
    try {
      const out = f();
      reached.launched += out.effects.filter(
        (e) => e.kind === 'agent' && e.message?.type === 'RUN_TASK',
      ).length;
    } catch (err) {
      if (!(err instanceof MasterError)) throw err;
      reached.refused++;
    }
  };
  // The honest part of the cluster: two agents and two frameworks, with offers out.
  for (const aid of AIDS) {
    handleAgentMessage(
      state,
      aid,
      AgentToMaster.parse({
        type: 'REGISTER',
        agent: { id: aid, hostname: aid, resources: R.parseResources('cpus:4;mem:4096'), version: '0.1.0' },
      }),
      now,
    );
  }
  for (const fid of FIDS) {
    handleSchedulerCall(
      state,
      fid,
      SchedulerCall.parse({ type: 'SUBSCRIBE', framework: { id: fid, name: fid, roles: ROLES } }),
      now,
    );
  }
  runAllocation(state, now);
  for (const s of steps) {
    reached.steps++;
    if (s.kind === 'allocate') runAllocation(state, now);
    else if (s.kind === 'tick') {
      now += s.ms;
      tick(state, now);
    } else if (s.kind === 'scheduler') {
      const offers = [...state.offers.keys()];
      const offerId = offers.length ? offers[s.offerIndex % offers.length] : 'o-none';
      const raw = JSON.parse(JSON.stringify(s.call).replaceAll('"OFFER"', JSON.stringify(offerId)));
      const call = SchedulerCall.safeParse(raw);
      if (call.success) refuse(() => handleSchedulerCall(state, s.fid, call.data, now));
    } else if (s.kind === 'agent') {
      const msg = AgentToMaster.safeParse(s.msg);
      if (msg.success) refuse(() => handleAgentMessage(state, s.aid, msg.data, now));
    } else {
      const call = OperatorCall.safeParse(s.call);
      if (call.success) refuse(() => handleOperatorCall(state, call.data, now));
    }
    expectConsistent(state);
  }
  return state;
}

function expectConsistent(state: MasterState): void {
  const view = StateView.parse(stateView(state));
  for (const a of view.agents) {
    expect(R.contains(a.total, a.used), `agent ${a.id} uses more than it has`).toBe(true);
    expect(R.contains(a.total, a.offered), `agent ${a.id} offers more than it has`).toBe(true);
  }
  for (const [id, o] of state.offers) {
    expect(
      state.frameworks.get(o.offer.frameworkId)?.offers.has(id),
      `offer ${id} not held by its framework`,
    ).toBe(true);
    expect(state.agents.get(o.offer.agentId)?.status, `offer ${id} on an inactive agent`).toBe('ACTIVE');
  }
}

describe("the master's handlers under adversarial sequences of valid calls", () => {
  it('refuse with a MasterError or succeed, and keep the state consistent, for 10 000 steps', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 20, maxLength: 40 }), (steps) => {
        run(steps);
      }),
      { numRuns: 400, seed: Number(process.env.FUZZ_SEED ?? 20261129) },
    );
    expect(reached.steps).toBeGreaterThan(10_000);
    expect(reached.launched, 'tasks launched').toBeGreaterThan(20);
    expect(reached.refused, 'calls refused').toBeGreaterThan(100);
  });
});
