import { describe, expect, it } from 'vitest';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { defaultMasterConfig } from '../../actors/master/config.js';
import type { Effect } from '../../actors/master/effects.js';
import { handleOperatorCall } from '../../actors/master/operator-calls.js';
import { handleSchedulerCall } from '../../actors/master/scheduler-calls.js';
import { createMasterState, type MasterState } from '../../actors/master/state.js';
import { runAllocation, tick } from '../../actors/master/tick.js';
import {
  FrameworkInfo,
  type Offer,
  OperatorCall,
  resources as R,
  type SchedulerEvent,
} from '../../protocol/index.js';

/** A harness that drives the master's handlers with a hand-moved clock and records effects. */
function harness() {
  let now = 1_000_000;
  const state: MasterState = createMasterState(
    defaultMasterConfig({
      masterId: 'm-test',
      agentPingTimeoutSeconds: 1,
      maxAgentPingTimeouts: 3,
      frameworkHeartbeatIntervalSeconds: 1,
    }),
    now,
    { agentOrder: 'added' },
  );
  const effects: Effect[] = [];
  const events = (fid: string, type?: SchedulerEvent['type']) =>
    effects.flatMap((e) =>
      e.kind === 'framework' && e.frameworkId === fid && (!type || e.event.type === type) ? [e.event] : [],
    );
  const toAgent = (aid: string) =>
    effects.flatMap((e) => (e.kind === 'agent' && e.agentId === aid ? [e.message] : []));
  return {
    state,
    effects,
    events,
    toAgent,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
    call: (fid: string, call: Parameters<typeof handleSchedulerCall>[2]) => {
      const o = handleSchedulerCall(state, fid, call, now);
      effects.push(...o.effects);
      return o.result;
    },
    agent: (aid: string, msg: Parameters<typeof handleAgentMessage>[2]) => {
      const o = handleAgentMessage(state, aid, msg, now);
      effects.push(...o.effects);
      return o.result;
    },
    operator: (call: Parameters<typeof handleOperatorCall>[1]) => {
      const o = handleOperatorCall(state, call, now);
      effects.push(...o.effects);
      return o.result;
    },
    allocate: () => effects.push(...runAllocation(state, now)),
    tick: () => effects.push(...tick(state, now)),
    offers: (fid: string) =>
      events(fid, 'OFFERS').flatMap((e) => (e.type === 'OFFERS' ? e.offers : [])) as Offer[],
  };
}

const framework = (id: string, extra: Record<string, unknown> = {}) =>
  FrameworkInfo.parse({ id, name: id, ...extra });
const register = (id: string, res = 'cpus:2;mem:1024') => ({
  type: 'REGISTER' as const,
  agent: { id, hostname: 'h', resources: R.parseResources(res), attributes: {}, version: '0.1.0' },
  tasks: [],
  frameworks: [],
});
const task = (taskId: string, res = 'cpus:1;mem:128') => ({
  taskId,
  name: taskId,
  resources: R.parseResources(res),
  command: { shell: true, value: 'true', env: {} },
});

describe('the master handlers', () => {
  it('offers a registered agent to a subscribed framework and launches a task on it', () => {
    const h = harness();
    h.agent('a1', register('a1'));
    expect(h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1') })).toMatchObject({
      frameworkId: 'f1',
      resubscribed: false,
    });
    h.allocate();
    const [offer] = h.offers('f1');
    expect(offer).toMatchObject({ agentId: 'a1', role: '*', resources: R.parseResources('cpus:2;mem:1024') });
    h.call('f1', {
      type: 'ACCEPT',
      offerIds: [offer.id],
      operations: [{ type: 'LAUNCH', tasks: [task('t1')] }],
    });
    expect(h.toAgent('a1')).toMatchObject([{ type: 'RUN_TASK', task: { taskId: 't1', agentId: 'a1' } }]);
    const [agent] = (h.operator({ type: 'GET_AGENTS' }) as { agents: { used: unknown; offered: unknown }[] })
      .agents;
    expect(agent.used).toEqual(R.parseResources('cpus:1;mem:128'));
    expect(agent.offered).toEqual([]);
    expect(h.state.offers.size).toBe(0);
  });

  it('forwards agent updates, frees resources on a terminal one before the ack, and relays the ack', () => {
    const h = harness();
    h.agent('a1', register('a1'));
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1') });
    h.allocate();
    h.call('f1', {
      type: 'ACCEPT',
      offerIds: [h.offers('f1')[0].id],
      operations: [{ type: 'LAUNCH', tasks: [task('t1')] }],
    });
    const status = {
      taskId: 't1',
      agentId: 'a1',
      state: 'TASK_FINISHED' as const,
      source: 'SOURCE_EXECUTOR' as const,
      uuid: 'u1',
      timestamp: h.now(),
    };
    h.agent('a1', { type: 'STATUS_UPDATE', update: { frameworkId: 'f1', status } });
    expect(h.events('f1', 'UPDATE')).toEqual([{ type: 'UPDATE', status }]);
    expect(h.state.agents.get('a1')?.used).toEqual([]);
    h.call('f1', { type: 'ACKNOWLEDGE', agentId: 'a1', taskId: 't1', uuid: 'u1' });
    expect(h.toAgent('a1').at(-1)).toEqual({
      type: 'STATUS_UPDATE_ACK',
      frameworkId: 'f1',
      taskId: 't1',
      uuid: 'u1',
    });
  });

  it('keeps declined resources from the framework until the filter expires', () => {
    const h = harness();
    h.agent('a1', register('a1'));
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1') });
    h.allocate();
    h.call('f1', { type: 'DECLINE', offerIds: [h.offers('f1')[0].id], filters: { refuseSeconds: 10 } });
    h.allocate();
    expect(h.offers('f1')).toHaveLength(1);
    h.advance(9_000);
    h.agent('a1', { type: 'HEARTBEAT' });
    h.call('f1', { type: 'HEARTBEAT' });
    h.tick();
    h.allocate();
    expect(h.offers('f1')).toHaveLength(1);
    h.advance(1_001);
    h.agent('a1', { type: 'HEARTBEAT' });
    h.call('f1', { type: 'HEARTBEAT' });
    h.tick();
    h.allocate();
    expect(h.offers('f1')).toHaveLength(2);
  });

  it('rescinds offers, reports tasks lost and tells frameworks of the failure when an agent stops heartbeating', () => {
    const h = harness();
    h.agent('a1', register('a1', 'cpus:4;mem:1024'));
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1') });
    h.allocate();
    h.call('f1', {
      type: 'ACCEPT',
      offerIds: [h.offers('f1')[0].id],
      operations: [{ type: 'LAUNCH', tasks: [task('t1')] }],
      filters: { refuseSeconds: 0 },
    });
    h.allocate();
    const second = h.offers('f1')[1];
    h.advance(3_500);
    h.call('f1', { type: 'HEARTBEAT' });
    h.tick();
    expect(h.events('f1', 'RESCIND')).toEqual([{ type: 'RESCIND', offerId: second.id }]);
    expect(h.events('f1', 'UPDATE')).toMatchObject([
      { type: 'UPDATE', status: { taskId: 't1', state: 'TASK_LOST', reason: 'REASON_AGENT_UNREACHABLE' } },
    ]);
    expect(h.events('f1', 'FAILURE')).toEqual([{ type: 'FAILURE', agentId: 'a1' }]);
    expect(h.state.agents.get('a1')?.status).toBe('UNREACHABLE');
  });

  it('asks an unknown agent to register again instead of trusting its messages', () => {
    const h = harness();
    h.agent('ghost', { type: 'HEARTBEAT' });
    expect(h.toAgent('ghost')).toEqual([{ type: 'REREGISTER' }]);
    expect(h.state.agents.size).toBe(0);
  });

  it('kills a task through its agent and answers a kill of an unknown task itself', () => {
    const h = harness();
    h.agent('a1', register('a1'));
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1', { capabilities: ['PARTITION_AWARE'] }) });
    h.allocate();
    h.call('f1', {
      type: 'ACCEPT',
      offerIds: [h.offers('f1')[0].id],
      operations: [{ type: 'LAUNCH', tasks: [task('t1')] }],
    });
    h.call('f1', { type: 'KILL', taskId: 't1' });
    expect(h.toAgent('a1').at(-1)).toMatchObject({ type: 'KILL_TASK', frameworkId: 'f1', taskId: 't1' });
    h.call('f1', { type: 'KILL', taskId: 'nope' });
    expect(h.events('f1', 'UPDATE')).toMatchObject([{ status: { taskId: 'nope', state: 'TASK_UNKNOWN' } }]);
  });

  it('tears a framework down: offers back, tasks killed on agents, id never reusable', () => {
    const h = harness();
    h.agent('a1', register('a1', 'cpus:4;mem:1024'));
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1') });
    h.allocate();
    h.call('f1', {
      type: 'ACCEPT',
      offerIds: [h.offers('f1')[0].id],
      operations: [{ type: 'LAUNCH', tasks: [task('t1')] }],
      filters: { refuseSeconds: 0 },
    });
    h.allocate();
    h.call('f1', { type: 'TEARDOWN' });
    expect(h.toAgent('a1').at(-1)).toEqual({ type: 'SHUTDOWN_FRAMEWORK', frameworkId: 'f1' });
    expect(h.state.offers.size).toBe(0);
    expect(h.state.agents.get('a1')?.used).toEqual([]);
    expect(() => h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1') })).toThrow('removed');
  });

  it('disconnects a silent framework and removes it once its failover timeout has passed', () => {
    const h = harness();
    h.agent('a1', register('a1'));
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1', { failoverTimeoutSeconds: 10 }) });
    h.advance(3_001);
    h.agent('a1', { type: 'HEARTBEAT' });
    h.tick();
    expect(h.state.frameworks.get('f1')?.status).toBe('DISCONNECTED');
    expect(() => h.call('f1', { type: 'HEARTBEAT' })).toThrow('disconnected');
    h.advance(9_000);
    h.agent('a1', { type: 'HEARTBEAT' });
    h.tick();
    expect(h.state.frameworks.get('f1')?.status).toBe('DISCONNECTED');
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1', { failoverTimeoutSeconds: 10 }) });
    expect(h.state.frameworks.get('f1')?.status).toBe('CONNECTED');
    h.advance(3_001);
    h.agent('a1', { type: 'HEARTBEAT' });
    h.tick();
    h.advance(10_000);
    h.agent('a1', { type: 'HEARTBEAT' });
    h.tick();
    expect(h.state.frameworks.get('f1')?.status).toBe('REMOVED');
  });

  it('rejects a SUBSCRIBE whose framework id does not match its subject, changing nothing', () => {
    const h = harness();
    expect(() => h.call('f1', { type: 'SUBSCRIBE', framework: framework('f2') })).toThrow('does not match');
    expect(h.state.frameworks.size).toBe(0);
  });

  it('rejects calls from a framework that never subscribed', () => {
    const h = harness();
    expect(() => h.call('nobody', { type: 'REVIVE' })).toThrow('not subscribed');
  });

  it('lets an agent that unregistered gracefully register again with the same id', () => {
    const h = harness();
    h.agent('a1', register('a1'));
    h.agent('a1', { type: 'UNREGISTER' });
    expect(h.state.agents.get('a1')?.status).toBe('REMOVED');
    h.agent('a1', register('a1'));
    expect(h.state.agents.get('a1')?.status).toBe('ACTIVE');
  });

  it('counts a terminal, unacknowledged task reported at re-registration as still there', () => {
    const h = harness();
    h.agent('a1', register('a1'));
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1') });
    h.allocate();
    h.call('f1', {
      type: 'ACCEPT',
      offerIds: [h.offers('f1')[0].id],
      operations: [{ type: 'LAUNCH', tasks: [task('t1')] }],
    });
    h.advance(61_000);
    h.call('f1', { type: 'HEARTBEAT' });
    const finished = {
      taskId: 't1',
      agentId: 'a1',
      state: 'TASK_FINISHED' as const,
      source: 'SOURCE_EXECUTOR' as const,
      uuid: 'u9',
      timestamp: h.now(),
    };
    h.agent('a1', {
      ...register('a1'),
      tasks: [{ frameworkId: 'f1', task: { ...task('t1'), agentId: 'a1' }, status: finished }],
    });
    expect(h.events('f1', 'UPDATE')).toEqual([]);
    expect(h.state.frameworks.get('f1')?.tasks.get('t1')?.status.state).toBe('TASK_STAGING');
  });
});

describe('the master driving the allocator', () => {
  const agents = (h: ReturnType<typeof harness>, n: number, res = 'cpus:1;mem:256') => {
    for (let i = 1; i <= n; i++) h.agent(`a${i}`, register(`a${i}`, res));
  };
  const offeredTo = (h: ReturnType<typeof harness>, fid: string) =>
    h.offers(fid).filter((o) => h.state.offers.has(o.id));
  const bad = (run: () => unknown) => {
    try {
      run();
    } catch (err) {
      return err as { code?: string; message: string };
    }
    throw new Error('expected the call to be refused');
  };

  it('offers more of the cluster to the role with the larger weight', () => {
    // 4 agents of cpus 1: shares are cpus/4. Weights a 1, b 3 (weighted share = share / weight):
    // a1 -> a (a .25); a2 -> b (.25/3 = .08); a3 -> b (.5/3 = .17 < .25); a4 -> b (.5/3 again < .25)
    const weighted = harness();
    weighted.operator({ type: 'UPDATE_WEIGHTS', weights: [{ role: 'b', weight: 3 }] });
    agents(weighted, 4);
    weighted.call('fa', { type: 'SUBSCRIBE', framework: framework('fa', { roles: ['a'] }) });
    weighted.call('fb', { type: 'SUBSCRIBE', framework: framework('fb', { roles: ['b'] }) });
    weighted.allocate();
    expect([weighted.offers('fa').length, weighted.offers('fb').length]).toEqual([1, 3]);

    // Equal weights: a, b, a, b.
    const equal = harness();
    agents(equal, 4);
    equal.call('fa', { type: 'SUBSCRIBE', framework: framework('fa', { roles: ['a'] }) });
    equal.call('fb', { type: 'SUBSCRIBE', framework: framework('fb', { roles: ['b'] }) });
    equal.allocate();
    expect([equal.offers('fa').length, equal.offers('fb').length]).toEqual([2, 2]);
    expect(equal.operator({ type: 'GET_WEIGHTS' })).toEqual({ weights: [] });
    expect(weighted.operator({ type: 'GET_WEIGHTS' })).toEqual({ weights: [{ role: 'b', weight: 3 }] });
  });

  it('caps a role at its quota limit, and offers more once the limit is raised', () => {
    const h = harness();
    agents(h, 4);
    h.operator({ type: 'UPDATE_QUOTA', role: 'capped', limit: R.parseResources('cpus:1') });
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1', { roles: ['capped'] }) });
    h.allocate();
    const cpus = () =>
      R.scalar(
        offeredTo(h, 'f1').flatMap((o) => o.resources),
        'cpus',
      );
    expect(cpus()).toBe(1);
    h.operator({ type: 'UPDATE_QUOTA', role: 'capped', limit: R.parseResources('cpus:3') });
    h.allocate();
    expect(cpus()).toBe(3);
    expect(h.operator({ type: 'GET_QUOTA' })).toEqual({
      quotas: [{ role: 'capped', guarantee: [], limit: R.parseResources('cpus:3') }],
    });
    // The limit bounds cpus only: the fourth agent's mem is offered too (mem 1024/1024 = 1).
    expect(
      R.scalar(
        offeredTo(h, 'f1').flatMap((o) => o.resources),
        'mem',
      ),
    ).toBe(1024);
    const { roles } = h.operator({ type: 'GET_ROLES' }) as { roles: { role: string; offered: unknown }[] };
    expect(roles).toMatchObject([{ role: 'capped', frameworks: ['f1'], dominantShare: 1 }]);
  });

  it('reserves and unreserves resources for an operator, changing the agent total and who is offered what', () => {
    const h = harness();
    h.agent('a1', register('a1', 'cpus:4;mem:1024'));
    const reserved = R.parseResources('cpus(eng):2;mem(eng):512');
    expect(h.operator({ type: 'RESERVE_RESOURCES', agentId: 'a1', resources: reserved })).toEqual({
      agentId: 'a1',
      total: R.parseResources('cpus:2;mem:512;cpus(eng):2;mem(eng):512'),
    });
    h.call('ads', { type: 'SUBSCRIBE', framework: framework('ads', { roles: ['ads'] }) });
    h.allocate();
    // Only the unreserved half reaches another role.
    expect(h.offers('ads').map((o) => o.resources)).toEqual([R.parseResources('cpus:2;mem:512')]);
    h.call('eng', { type: 'SUBSCRIBE', framework: framework('eng', { roles: ['eng'] }) });
    h.allocate();
    const [engOffer] = h.offers('eng');
    expect(engOffer.resources).toEqual(reserved);
    // The reserved resources are in eng's offer: it is rescinded so they can be unreserved.
    expect(h.operator({ type: 'UNRESERVE_RESOURCES', agentId: 'a1', resources: reserved })).toEqual({
      agentId: 'a1',
      total: R.parseResources('cpus:4;mem:1024'),
    });
    expect(h.events('eng', 'RESCIND')).toEqual([{ type: 'RESCIND', offerId: engOffer.id }]);
    const [agent] = (h.operator({ type: 'GET_AGENTS' }) as { agents: { total: unknown }[] }).agents;
    expect(agent.total).toEqual(R.parseResources('cpus:4;mem:1024'));
    h.allocate();
    expect(offeredTo(h, 'eng').map((o) => o.resources)).toEqual([R.parseResources('cpus:2;mem:512')]);
  });

  it('lets a framework RESERVE in an ACCEPT and launch on what it reserved, then offers it only to that role', () => {
    const h = harness();
    h.agent('a1', register('a1', 'cpus:2;mem:512'));
    h.call('eng', { type: 'SUBSCRIBE', framework: framework('eng', { roles: ['eng'] }) });
    h.allocate();
    h.call('eng', {
      type: 'ACCEPT',
      offerIds: [h.offers('eng')[0].id],
      operations: [
        { type: 'RESERVE', resources: R.parseResources('cpus(eng):2;mem(eng):512') },
        { type: 'LAUNCH', tasks: [task('t1', 'cpus(eng):1;mem(eng):128')] },
      ],
      filters: { refuseSeconds: 0 },
    });
    expect(h.toAgent('a1')).toMatchObject([
      { type: 'RUN_TASK', task: { taskId: 't1', resources: R.parseResources('cpus(eng):1;mem(eng):128') } },
    ]);
    expect(h.state.agents.get('a1')?.total).toEqual(R.parseResources('cpus(eng):2;mem(eng):512'));
    expect(h.state.frameworks.get('eng')?.tasks.get('t1')?.role).toBe('eng');
    h.call('other', { type: 'SUBSCRIBE', framework: framework('other') });
    h.allocate();
    expect(h.offers('other')).toEqual([]);
    expect(offeredTo(h, 'eng').map((o) => o.resources)).toEqual([
      R.parseResources('cpus(eng):1;mem(eng):384'),
    ]);
  });

  it('drops every task of an ACCEPT that pools offers of different roles', () => {
    const h = harness();
    h.agent('a1', register('a1', 'cpus(x):1;mem(x):128;cpus(y):1;mem(y):128'));
    h.call('f1', {
      type: 'SUBSCRIBE',
      framework: framework('f1', { roles: ['x', 'y'], capabilities: ['MULTI_ROLE'] }),
    });
    h.allocate();
    const offers = h.offers('f1');
    expect(offers.map((o) => o.role).sort()).toEqual(['x', 'y']);
    h.call('f1', {
      type: 'ACCEPT',
      offerIds: offers.map((o) => o.id),
      operations: [{ type: 'LAUNCH', tasks: [task('t1', 'cpus:0.5;mem:64')] }],
    });
    expect(h.events('f1', 'UPDATE')).toMatchObject([
      { status: { taskId: 't1', state: 'TASK_LOST', reason: 'REASON_INVALID_OFFERS' } },
    ]);
    expect(h.toAgent('a1')).toEqual([]);
    h.allocate();
    expect(offeredTo(h, 'f1')).toHaveLength(2);
  });

  it('keeps SUPPRESS in the allocator: no offers, and GET_FRAMEWORKS shows the suppressed roles', () => {
    const h = harness();
    agents(h, 1);
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1', { roles: ['a'] }) });
    h.call('f1', { type: 'SUPPRESS' });
    h.allocate();
    expect(h.offers('f1')).toEqual([]);
    const fws = () =>
      (h.operator({ type: 'GET_FRAMEWORKS' }) as { frameworks: { suppressedRoles: string[] }[] }).frameworks;
    expect(fws()[0].suppressedRoles).toEqual(['a']);
    h.call('f1', { type: 'REVIVE' });
    h.allocate();
    expect(h.offers('f1')).toHaveLength(1);
    expect(fws()[0].suppressedRoles).toEqual([]);
  });

  it('reports Mesos-named metrics from the master and the allocator', () => {
    const h = harness();
    agents(h, 2, 'cpus:2;mem:1024');
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1') });
    h.allocate();
    h.call('f1', {
      type: 'ACCEPT',
      offerIds: [h.offers('f1')[0].id],
      operations: [{ type: 'LAUNCH', tasks: [task('t1', 'cpus:1;mem:128')] }],
    });
    h.advance(2_000);
    const { metrics } = h.operator({ type: 'GET_METRICS' }) as { metrics: Record<string, number> };
    expect(metrics).toMatchObject({
      'master/elected': 1,
      'master/uptime_secs': 2,
      'master/agents_active': 2,
      'master/frameworks_active': 1,
      'master/outstanding_offers': 1,
      'master/tasks_staging': 1,
      'master/tasks_running': 0,
      'master/cpus_total': 4,
      'master/cpus_used': 1,
      'master/cpus_percent': 0.25,
      'allocator/allocation_runs': 1,
      'allocator/outstanding_offers': 1,
    });
    expect(metrics['allocator/roles/*/shares/dominant']).toBe(0.75);
  });

  it('refuses invalid allocation input with a clear BAD_REQUEST and changes nothing', () => {
    const h = harness();
    h.agent('a1', register('a1', 'cpus:4;mem:1024'));
    h.operator({ type: 'UPDATE_WEIGHTS', weights: [{ role: 'eng', weight: 2 }] });
    h.operator({ type: 'RESERVE_RESOURCES', agentId: 'a1', resources: R.parseResources('cpus(eng):1') });
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1', { roles: ['eng'] }) });
    h.allocate();
    const snapshot = () =>
      ['GET_STATE', 'GET_ROLES', 'GET_WEIGHTS', 'GET_QUOTA'].map((type) =>
        h.operator({ type } as Parameters<typeof h.operator>[0]),
      );
    const before = snapshot();
    const cases: [Parameters<typeof h.operator>[0], string][] = [
      [
        { type: 'UPDATE_QUOTA', role: 'eng', guarantee: [{ name: 'cpus', scalar: -1 }] },
        'must be finite and non-negative',
      ],
      [{ type: 'UPDATE_QUOTA', role: 'eng/web', limit: R.parseResources('cpus:1') }, 'top-level'],
      [
        { type: 'UPDATE_QUOTA', role: 'no such role!', limit: R.parseResources('cpus:1') },
        'not a valid role name',
      ],
      [{ type: 'UPDATE_WEIGHTS', weights: [{ role: 'bad role', weight: 2 }] }, 'not a valid role name'],
      [
        {
          type: 'UPDATE_WEIGHTS',
          weights: [
            { role: 'eng', weight: 5 },
            { role: 'ads', weight: 0 },
          ],
        },
        'above zero',
      ],
      [
        { type: 'UNRESERVE_RESOURCES', agentId: 'a1', resources: R.parseResources('mem(eng):64') },
        'cannot UNRESERVE',
      ],
      [
        { type: 'UNRESERVE_RESOURCES', agentId: 'a1', resources: R.parseResources('cpus:1') },
        'it is not reserved',
      ],
      [
        { type: 'RESERVE_RESOURCES', agentId: 'a1', resources: R.parseResources('cpus(eng):8') },
        'cannot RESERVE',
      ],
    ];
    for (const [call, why] of cases) {
      const err = bad(() => h.operator(call));
      expect(err.code, why).toBe('BAD_REQUEST');
      expect(err.message).toContain(why);
    }
    expect(snapshot()).toEqual(before);
    expect(h.events('f1', 'RESCIND')).toEqual([]);
    // On the wire the same mistakes do not even parse.
    for (const call of [
      { type: 'UPDATE_WEIGHTS', weights: [{ role: 'eng', weight: 0 }] },
      { type: 'UPDATE_WEIGHTS', weights: [{ role: 'a b', weight: 1 }] },
      { type: 'UPDATE_QUOTA', role: 'eng', limit: [{ name: 'cpus', scalar: -1 }] },
    ]) {
      expect(OperatorCall.safeParse(call).success).toBe(false);
    }
  });

  it('keeps the allocator in step through finished tasks, a disconnect and an agent re-registering', () => {
    const h = harness();
    h.agent('a1', register('a1', 'cpus:2;mem:1024'));
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1', { failoverTimeoutSeconds: 60 }) });
    h.allocate();
    h.call('f1', {
      type: 'ACCEPT',
      offerIds: [h.offers('f1')[0].id],
      operations: [{ type: 'LAUNCH', tasks: [task('t1'), task('t2')] }],
      filters: { refuseSeconds: 0 },
    });
    h.allocate();
    // cpus 2 - 1 - 1 = 0, mem 1024 - 256 = 768: the rest is offered again.
    expect(offeredTo(h, 'f1').map((o) => o.resources)).toEqual([R.parseResources('mem:768')]);
    const running = (taskId: string, state = 'TASK_RUNNING' as const) => ({
      type: 'STATUS_UPDATE' as const,
      update: {
        frameworkId: 'f1',
        status: {
          taskId,
          agentId: 'a1',
          state,
          source: 'SOURCE_EXECUTOR' as const,
          uuid: taskId,
          timestamp: h.now(),
        },
      },
    });
    h.agent('a1', running('t1'));
    h.agent('a1', {
      ...running('t2'),
      update: { ...running('t2').update, status: { ...running('t2').update.status, state: 'TASK_FINISHED' } },
    });
    // t2's resources go back at once: the master rescinds nothing, the allocator offers them next run.
    h.allocate();
    expect(
      R.scalar(
        offeredTo(h, 'f1').flatMap((o) => o.resources),
        'cpus',
      ),
    ).toBe(1);

    // Silent for 3 heartbeat intervals: disconnected, offers rescinded, no new ones.
    h.advance(3_001);
    h.agent('a1', { type: 'HEARTBEAT' });
    h.tick();
    h.allocate();
    expect(h.state.frameworks.get('f1')?.status).toBe('DISCONNECTED');
    expect(offeredTo(h, 'f1')).toEqual([]);
    expect(h.state.allocator.metrics().outstandingOffers).toBe(0);

    // The agent re-registers with t1: it stays allocated; the framework comes back and is offered the rest.
    h.agent('a1', {
      ...register('a1', 'cpus:2;mem:1024'),
      tasks: [
        {
          frameworkId: 'f1',
          task: { ...task('t1'), agentId: 'a1' },
          status: {
            taskId: 't1',
            agentId: 'a1',
            state: 'TASK_RUNNING',
            source: 'SOURCE_EXECUTOR',
            timestamp: h.now(),
          },
        },
      ],
    });
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1', { failoverTimeoutSeconds: 60 }) });
    h.allocate();
    expect(offeredTo(h, 'f1').map((o) => o.resources)).toEqual([R.parseResources('cpus:1;mem:896')]);
    expect(h.state.allocator.agentAllocations('a1')?.used).toEqual([
      { frameworkId: 'f1', role: '*', resources: R.parseResources('cpus:1;mem:128') },
    ]);
  });

  it('rescinds an offer left unused past offerTimeoutMs and offers the resources again, unfiltered', () => {
    const h = harness();
    h.state.config.offerTimeoutMs = 2_000;
    h.agent('a1', register('a1'));
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1') });
    h.allocate();
    const [first] = h.offers('f1');
    h.advance(1_999);
    h.tick();
    expect(h.events('f1', 'RESCIND')).toEqual([]);
    h.advance(1);
    h.agent('a1', { type: 'HEARTBEAT' });
    h.call('f1', { type: 'HEARTBEAT' });
    h.tick();
    expect(h.events('f1', 'RESCIND')).toEqual([{ type: 'RESCIND', offerId: first.id }]);
    expect(h.state.offers.size).toBe(0);
    h.allocate();
    const offers = h.offers('f1');
    expect(offers).toHaveLength(2);
    expect(offers[1].id).not.toBe(first.id);
    expect(offers[1].resources).toEqual(first.resources);
  });

  describe('acknowledgements', () => {
    const launched = () => {
      const h = harness();
      h.agent('a1', register('a1'));
      h.agent('a2', register('a2'));
      h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1') });
      h.call('f2', { type: 'SUBSCRIBE', framework: framework('f2') });
      h.allocate();
      const offer = h.offers('f1').find((o) => o.agentId === 'a1') as Offer;
      h.call('f1', {
        type: 'ACCEPT',
        offerIds: [offer.id],
        operations: [{ type: 'LAUNCH', tasks: [task('t1')] }],
      });
      const status = {
        taskId: 't1',
        agentId: 'a1',
        state: 'TASK_RUNNING' as const,
        source: 'SOURCE_EXECUTOR' as const,
        uuid: 'u1',
        timestamp: h.now(),
      };
      h.agent('a1', { type: 'STATUS_UPDATE', update: { frameworkId: 'f1', status } });
      return h;
    };

    it('relays an ack of an update the master forwarded', () => {
      const h = launched();
      h.call('f1', { type: 'ACKNOWLEDGE', agentId: 'a1', taskId: 't1', uuid: 'u1' });
      expect(h.toAgent('a1').at(-1)).toEqual({
        type: 'STATUS_UPDATE_ACK',
        frameworkId: 'f1',
        taskId: 't1',
        uuid: 'u1',
      });
    });

    it.each([
      ['an unknown task', 'f1', { agentId: 'a1', taskId: 'nope', uuid: 'u1' }, 'is unknown'],
      ["another framework's task", 'f2', { agentId: 'a1', taskId: 't1', uuid: 'u1' }, 'is unknown'],
      ['the wrong agent', 'f1', { agentId: 'a2', taskId: 't1', uuid: 'u1' }, 'runs on agent a1'],
      ['a uuid never sent', 'f1', { agentId: 'a1', taskId: 't1', uuid: 'forged' }, 'is not a status update'],
    ])('rejects an ack of %s with a clear error and relays nothing', (_what, fid, ack, message) => {
      const h = launched();
      const before = h.effects.length;
      expect(() => h.call(fid, { type: 'ACKNOWLEDGE', ...ack })).toThrow(message);
      expect(h.effects.length).toBe(before);
    });
  });

  describe('MARK_AGENT_GONE', () => {
    it('ends every task on the agent as GONE_BY_OPERATOR, shuts the agent down and never readmits it', () => {
      const h = harness();
      h.agent('a1', register('a1'));
      h.call('pa', { type: 'SUBSCRIBE', framework: framework('pa', { capabilities: ['PARTITION_AWARE'] }) });
      h.allocate();
      h.call('pa', {
        type: 'ACCEPT',
        offerIds: [h.offers('pa')[0].id],
        operations: [{ type: 'LAUNCH', tasks: [task('t1')] }],
      });
      const effects = handleOperatorCall(
        h.state,
        { type: 'MARK_AGENT_GONE', agentId: 'a1' },
        h.now(),
      ).effects;
      h.effects.push(...effects);
      expect(h.events('pa', 'UPDATE')).toMatchObject([
        {
          status: {
            taskId: 't1',
            state: 'TASK_GONE_BY_OPERATOR',
            reason: 'REASON_AGENT_REMOVED_BY_OPERATOR',
          },
        },
      ]);
      expect(h.toAgent('a1').at(-1)).toMatchObject({ type: 'SHUTDOWN' });
      expect(h.state.frameworks.get('pa')?.used).toEqual([]);
      expect(() => h.agent('a1', register('a1'))).toThrow('marked gone');
      expect(() => h.operator({ type: 'MARK_AGENT_GONE', agentId: 'a1' })).toThrow('already marked gone');
      expect(() => h.operator({ type: 'MARK_AGENT_GONE', agentId: 'nobody' })).toThrow('unknown');
      h.call('pa', { type: 'RECONCILE', tasks: [{ taskId: 'other', agentId: 'a1' }] });
      expect(h.events('pa', 'UPDATE').at(-1)).toMatchObject({
        status: { taskId: 'other', state: 'TASK_GONE_BY_OPERATOR' },
      });
    });

    it('reports LOST to frameworks that are not partition aware', () => {
      const h = harness();
      h.agent('a1', register('a1'));
      h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1') });
      h.allocate();
      h.call('f1', {
        type: 'ACCEPT',
        offerIds: [h.offers('f1')[0].id],
        operations: [{ type: 'LAUNCH', tasks: [task('t1')] }],
      });
      h.effects.push(
        ...handleOperatorCall(h.state, { type: 'MARK_AGENT_GONE', agentId: 'a1' }, h.now()).effects,
      );
      expect(h.events('f1', 'UPDATE')).toMatchObject([
        { status: { taskId: 't1', state: 'TASK_LOST', reason: 'REASON_AGENT_REMOVED_BY_OPERATOR' } },
      ]);
    });

    it('ends tasks that were already unreachable, balancing the books', () => {
      const h = harness();
      h.agent('a1', register('a1'));
      h.call('pa', { type: 'SUBSCRIBE', framework: framework('pa', { capabilities: ['PARTITION_AWARE'] }) });
      h.allocate();
      h.call('pa', {
        type: 'ACCEPT',
        offerIds: [h.offers('pa')[0].id],
        operations: [{ type: 'LAUNCH', tasks: [task('t1')] }],
      });
      h.advance(3_500);
      h.call('pa', { type: 'HEARTBEAT' });
      h.tick();
      expect(h.events('pa', 'UPDATE').at(-1)).toMatchObject({
        status: { taskId: 't1', state: 'TASK_UNREACHABLE' },
      });
      h.effects.push(
        ...handleOperatorCall(h.state, { type: 'MARK_AGENT_GONE', agentId: 'a1' }, h.now()).effects,
      );
      expect(h.events('pa', 'UPDATE').at(-1)).toMatchObject({
        status: { taskId: 't1', state: 'TASK_GONE_BY_OPERATOR', reason: 'REASON_AGENT_REMOVED_BY_OPERATOR' },
      });
      expect(h.state.frameworks.get('pa')?.tasks.size).toBe(0);
      expect(h.state.frameworks.get('pa')?.used).toEqual([]);
    });
  });

  it('lets a second scheduler with the same id take over, sending ERROR to the first session only', () => {
    const h = harness();
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1'), session: 'first' });
    h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1'), session: 'first' });
    expect(h.events('f1', 'ERROR')).toEqual([]);
    expect(h.call('f1', { type: 'SUBSCRIBE', framework: framework('f1'), session: 'second' })).toMatchObject({
      resubscribed: true,
    });
    expect(h.events('f1', 'ERROR')).toEqual([
      { type: 'ERROR', message: expect.stringContaining('taken over'), session: 'first' },
    ]);
    expect(h.state.frameworks.get('f1')?.session).toBe('second');
  });
});
