import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentHandle } from '../../actors/agent/index.js';
import type { MasterHandle } from '../../actors/master/index.js';
import { decode, encode, type NatsBus } from '../../bus/index.js';
import { OperatorCall, OperatorResult, type StateView, type Subjects } from '../../protocol/index.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import type { TestNats } from '../support/nats.js';

/** A seeded generator, so a failure replays. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** garbage builds every kind of bad message the acceptance list names, plus near-misses. */
function garbage(): { label: string; payload: Uint8Array }[] {
  const random = prng(42);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
  let deep: unknown = { type: 'REGISTER' };
  for (let i = 0; i < 2000; i++) deep = { nested: deep };
  return [
    { label: 'empty', payload: new Uint8Array() },
    ...Array.from({ length: 20 }, (_, i) => ({
      label: `random bytes ${i}`,
      payload: bytes(1 + Math.floor(random() * 512)),
    })),
    { label: 'msgpack string', payload: encode('hello') },
    { label: 'msgpack number', payload: encode(42) },
    { label: 'msgpack array', payload: encode([1, 2, 3]) },
    { label: 'msgpack null', payload: encode(null) },
    { label: 'no type', payload: encode({ agent: {} }) },
    { label: 'unknown type', payload: encode({ type: 'LAUNCH_MISSILES' }) },
    { label: 'type of wrong kind', payload: encode({ type: 7 }) },
    { label: 'REGISTER without agent', payload: encode({ type: 'REGISTER' }) },
    {
      label: 'SUBSCRIBE with a bad id',
      payload: encode({ type: 'SUBSCRIBE', framework: { id: '../../etc', name: 'x' } }),
    },
    {
      label: 'ACCEPT with NaN and negative resources',
      payload: encode({
        type: 'ACCEPT',
        offerIds: ['o'],
        operations: [
          {
            type: 'LAUNCH',
            tasks: [
              { taskId: 't', name: 't', resources: [{ name: 'cpus', scalar: -1 }], command: { value: 'x' } },
            ],
          },
        ],
      }),
    },
    {
      label: 'STATUS_UPDATE for a forged task',
      payload: encode({
        type: 'STATUS_UPDATE',
        update: { frameworkId: 'f', status: { taskId: 't', state: 'TASK_RUNNING' } },
      }),
    },
    {
      label: 'RUN_TASK with path traversal',
      payload: encode({
        type: 'RUN_TASK',
        framework: { id: 'f', name: 'f' },
        task: {
          taskId: '../../../tmp/x',
          name: 'x',
          agentId: 'a',
          resources: [],
          command: { value: 'rm -rf /' },
        },
      }),
    },
    {
      label: 'KILL with a shell-looking id',
      payload: encode({ type: 'KILL_TASK', frameworkId: '$(reboot)', taskId: '`id`' }),
    },
    {
      label: 'huge array',
      payload: encode({ type: 'RECONCILE', tasks: Array.from({ length: 200_000 }, () => ({ taskId: 'x' })) }),
    },
    { label: 'deep nesting', payload: encode(deep) },
    { label: '5 MB payload', payload: new Uint8Array(5 * 1024 * 1024).fill(0x92) },
  ];
}

/** stable drops the fields that move by themselves (heartbeat times) so states compare. */
function stable(view: StateView) {
  return { ...view, agents: view.agents.map(({ lastSeenAt: _l, ...a }) => a) };
}

describe('hostile input to the master and the agent', () => {
  let nats: TestNats;
  let s: Subjects;
  let master: MasterHandle;
  let agent: AgentHandle;
  let bus: NatsBus;
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster({ master: { allocationIntervalMs: 200 } });
    ({ nats, subjects: s, master, agent } = cluster);
    bus = await nats.bus('attacker');
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('answers every bad request on the master subjects with a typed error and changes nothing', async () => {
    const before = stable(master.state());
    const targets = [
      s.scheduler('fw-hostile'),
      s.masterAgent(agent.agentId),
      s.masterAgent('ag-unknown'),
      s.operator(),
      s.operatorRead('anyone'),
      s.operatorWrite('anyone'),
    ];
    for (const subject of targets) {
      for (const { label, payload } of garbage()) {
        const reply = await bus.nc.request(subject, payload, { timeout: 5000 });
        const body = decode(reply.data, Number.MAX_SAFE_INTEGER) as {
          ok: boolean;
          error?: { code: string; message: string };
        };
        expect(body.ok, `${label} on ${subject}`).toBe(false);
        expect(['BAD_REQUEST', 'TOO_LARGE'], `${label} on ${subject}: ${body.error?.message}`).toContain(
          body.error?.code,
        );
      }
    }
    expect(stable(master.state())).toEqual(before);
    const health = await bus.request(
      s.operator(),
      OperatorCall,
      { type: 'GET_HEALTH' },
      OperatorResult.GET_HEALTH,
    );
    expect(health.healthy).toBe(true);
  });

  it('refuses a write call sent on an operator read subject, even without credentials', async () => {
    const before = stable(master.state());
    await expect(
      bus.request(
        s.operatorRead('anyone'),
        OperatorCall,
        { type: 'MARK_AGENT_GONE', agentId: agent.agentId },
        OperatorResult.MARK_AGENT_GONE,
      ),
    ).rejects.toThrow(/MARK_AGENT_GONE changes the cluster: send it on the write subject/);
    expect(stable(master.state())).toEqual(before);
  });

  it('drops every bad message on the agent subjects and keeps serving', async () => {
    const before = stable(master.state());
    for (const subject of [s.agent(agent.agentId), s.agentExecutors(agent.agentId)]) {
      for (const { payload } of garbage()) bus.nc.publish(subject, payload);
    }
    await bus.flush();
    // The agent is still registered and heartbeating, and the master saw no change from it.
    await new Promise((r) => setTimeout(r, 500));
    expect(stable(master.state())).toEqual(before);
    const { agents } = await bus.request(
      s.operator(),
      OperatorCall,
      { type: 'GET_AGENTS' },
      OperatorResult.GET_AGENTS,
    );
    expect(agents.find((a) => a.id === agent.agentId)?.status).toBe('ACTIVE');
  });
});
