import { describe, expect, it } from 'vitest';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { defaultMasterConfig } from '../../actors/master/config.js';
import type { Effect } from '../../actors/master/effects.js';
import { handleOperatorCall } from '../../actors/master/operator-calls.js';
import { handleSchedulerCall } from '../../actors/master/scheduler-calls.js';
import { createMasterState, type MasterState } from '../../actors/master/state.js';
import { runAllocation, tick } from '../../actors/master/tick.js';
import { FrameworkInfo, type Offer, resources as R, type SchedulerEvent } from '../../protocol/index.js';

/** A harness that drives the master's handlers with a hand-moved clock and records effects. */
function harness() {
  let now = 1_000_000;
  const state: MasterState = createMasterState(
    defaultMasterConfig({
      masterId: 'm-test',
      agentHeartbeatIntervalSeconds: 1,
      maxMissedAgentHeartbeats: 3,
      frameworkHeartbeatIntervalSeconds: 1,
    }),
    now,
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
    operator: (call: Parameters<typeof handleOperatorCall>[1]) => handleOperatorCall(state, call, now).result,
    allocate: () => effects.push(...runAllocation(state, now, (xs) => xs)),
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
