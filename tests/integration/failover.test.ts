import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentHandle, startAgent } from '../../actors/agent/index.js';
import { startHaMaster } from '../../actors/master/index.js';
import { RegistryStore } from '../../actors/master/registry-store.js';
import { startSimulator } from '../../actors/simulator/index.js';
import { decode, type NatsBus, silentLogger } from '../../bus/index.js';
import { Operator, Scheduler } from '../../frameworks/sdk/index.js';
import { subjects as makeSubjects, resources as R, type TaskStatus } from '../../protocol/index.js';
import { waitFor as eventually } from '../support/apps.js';
import { startTestNats, type TestNats } from '../support/nats.js';
import { waitFor } from '../support/processes.js';

const leadership = {
  lease: { ttlMs: 1500, renewEveryMs: 300, pollEveryMs: 100, safetyMs: 300 },
  reregisterTimeoutMs: 20_000,
  announceEveryMs: 300,
};

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

/** A master with a NATS connection of its own, and a clock that can be pushed forward. */
async function haMaster(prefix: string, id: string, overrides: Partial<typeof leadership> = {}) {
  const bus = (await nats.bus(id)) as NatsBus;
  const clock = { offset: 0, now: () => Date.now() + clock.offset };
  const handle = await startHaMaster({
    bus,
    nc: bus.nc,
    subjects: makeSubjects(prefix),
    log: silentLogger,
    clock,
    config: { masterId: id, allocationIntervalMs: 100 },
    leadership: { ...leadership, ...overrides },
  });
  return { id, bus, clock, handle };
}
type M = Awaited<ReturnType<typeof haMaster>>;
const leaderOf = (ms: M[]) => ms.find((m) => m.handle.leading() !== undefined);

describe('master failover', () => {
  let agent: AgentHandle | undefined;
  let workDir: string;
  const masters: M[] = [];

  afterAll(async () => {
    await agent?.stop();
    for (const m of masters) await m.handle.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('hands over to a standby when the leader dies: tasks survive, agents and frameworks follow, the registry is kept', async () => {
    const prefix = `${nats.prefix}f`;
    // The default 5 s lease: a killed leader is found gone at once whatever the ttl, and a live
    // leader's event loop may stall for seconds on a loaded CI machine without losing its term
    // (with 1.5 s, the new leader once stepped down and led again before the checks below).
    const lease = { ttlMs: 5000, renewEveryMs: 300, pollEveryMs: 100, safetyMs: 1000 };
    masters.push(await haMaster(prefix, 'm-one', { lease }), await haMaster(prefix, 'm-two', { lease }));
    await waitFor(() => leaderOf(masters) !== undefined, 15_000, 'a leader');
    const first = leaderOf(masters) as M;
    const epoch1 = first.handle.leading() as number;

    workDir = mkdtempSync(join(tmpdir(), 'mezzo-failover-'));
    agent = await startAgent({
      bus: await nats.bus('agent'),
      subjects: makeSubjects(prefix),
      log: silentLogger,
      config: { workDir, resources: 'cpus:2;mem:512;disk:512;ports:[31000-31009]', natsUrl: nats.url },
    });
    await agent.registered();
    const operator = await Operator.connect({ nats: await nats.bus('op'), prefix, timeoutMs: 2000 });
    // Retried while nobody answers: with this file's 1.5 s lease, a leader whose event loop stalls
    // on a loaded machine steps down, and no master serves until the standby takes over (CI once
    // got "no responders" here, before any failover).
    await eventually(() => operator.updateWeights({ eng: 3 }).then(() => true), {
      timeoutMs: 15_000,
      what: 'the weights to be accepted',
    });

    const updates: TaskStatus[] = [];
    let launched = false;
    const scheduler = await Scheduler.start({
      nats: await nats.bus('framework'),
      prefix,
      framework: { name: 'failover', roles: ['eng'], failoverTimeoutSeconds: 0 },
      log: silentLogger,
    });
    scheduler.on('update', (s) => void updates.push(s));
    scheduler.on('offers', async (offers) => {
      for (const offer of offers) {
        if (launched) {
          await scheduler.decline([offer.id]).catch(() => {});
          continue;
        }
        launched = true;
        await scheduler.launch(offer, [
          {
            taskId: 'long',
            name: 'long',
            resources: R.parseResources('cpus:0.5;mem:32'),
            command: { value: 'sleep 60' },
          },
        ]);
      }
    });
    await waitFor(() => updates.some((u) => u.state === 'TASK_RUNNING'), 20_000, 'the task running');

    // The leader's process dies: nothing releases its lease; it expires after max_age.
    const killedAt = Date.now();
    await first.handle.stop({ release: false });
    await first.bus.close();
    const rest = masters.filter((m) => m !== first);
    await waitFor(() => leaderOf(rest) !== undefined, 15_000, 'a new leader');
    const electedMs = Date.now() - killedAt;
    const second = leaderOf(rest) as M;
    expect(second.handle.leading()).toBeGreaterThan(epoch1);
    expect(electedMs).toBeLessThan(lease.ttlMs + 3000);

    // The agent re-registers with its running task; the framework resubscribes to the new leader.
    await waitFor(
      async () => (await operator.master().catch(() => undefined))?.recoveringAgents === 0,
      15_000,
      'the agent back',
    );
    const info = await operator.master();
    expect(info).toMatchObject({ masterId: second.id, ha: true, epoch: second.handle.leading() });
    await waitFor(
      () =>
        second.handle
          .state()
          ?.frameworks.some((f) => f.id === scheduler.frameworkId && f.status === 'CONNECTED') ?? false,
      15_000,
      'the framework resubscribed',
    );
    const tasks = await operator.tasks();
    expect(tasks.find((t) => t.taskId === 'long')?.state).toBe('TASK_RUNNING');
    // The standby followed the agent, the task launched after its REGISTER included: the agent
    // came back with a digest of its running task, which the new leader took from its copy.
    const { metrics } = await operator.metrics();
    expect(metrics).toMatchObject({
      'master/agent_reregistrations': 1,
      'master/agent_reregistrations_by_digest': 1,
      'master/agent_digest_mismatches': 0,
    });
    // Weights were in the registry.
    expect((await operator.weights()).weights).toContainEqual({ role: 'eng', weight: 3 });
    // No task was killed by the failover, and reconciliation answers from the new leader.
    const before = updates.length;
    await scheduler.reconcile([{ taskId: 'long', agentId: agent.agentId }]);
    await waitFor(() => updates.length > before, 10_000, 'the reconciliation answer');
    expect(updates.at(-1)).toMatchObject({
      taskId: 'long',
      state: 'TASK_RUNNING',
      reason: 'REASON_RECONCILIATION',
    });
    expect(
      updates.some(
        (u) => u.state !== 'TASK_RUNNING' && u.state !== 'TASK_STARTING' && u.state !== 'TASK_STAGING',
      ),
    ).toBe(false);
    await scheduler.close();
    await operator.close();
  });

  it('a new leader offers nothing until most known agents are back, and marks the missing ones unreachable after the window', async () => {
    const prefix = `${nats.prefix}r`;
    const s = makeSubjects(prefix);
    const window = { reregisterTimeoutMs: 3000 };
    const a = await haMaster(prefix, 'm-r1', window);
    masters.push(a);
    await a.handle.elected();
    const b = await haMaster(prefix, 'm-r2', window);
    masters.push(b);
    // Two agents: one stays, one dies with the leader and never comes back.
    const res = R.parseResources('cpus:4;mem:4096');
    const stays = await startSimulator({
      bus: await nats.bus('sim-a'),
      subjects: s,
      agents: 1,
      resources: res,
      idPrefix: 'stays',
    });
    const dies = await startSimulator({
      bus: await nats.bus('sim-b'),
      subjects: s,
      agents: 1,
      resources: res,
      idPrefix: 'dies',
    });
    await stays.whenRegistered(1, 10_000);
    await dies.whenRegistered(1, 10_000);
    const reader = await RegistryStore.open({
      nc: ((await nats.bus('reader')) as NatsBus).nc,
      subjects: s,
      replicas: 1,
      log: silentLogger,
    });
    await waitFor(async () => (await reader.load()).agents.size === 2, 10_000, 'both agents in the registry');
    const offersAt: number[] = [];
    const scheduler = await Scheduler.start({
      nats: await nats.bus('fw-r'),
      prefix,
      framework: { name: 'recovery', failoverTimeoutSeconds: 600 },
      log: silentLogger,
    });
    scheduler.on('offers', (offers) => void offersAt.push(...offers.map(() => Date.now())));
    await scheduler.subscribed();
    await waitFor(() => offersAt.length > 0, 10_000, 'offers from the first leader');

    await a.handle.stop({ release: false });
    await a.bus.close();
    await dies.stop();
    await waitFor(() => b.handle.leading() !== undefined, 15_000, 'the standby leading');
    const electedAt = Date.now();
    const before = offersAt.length;
    const operator = await Operator.connect({ nats: await nats.bus('op-r'), prefix, timeoutMs: 2000 });
    // One of two agents back is under the 80 % needed: no offers until the window ends.
    await waitFor(
      async () => (await operator.master()).recoveringAgents === 1,
      10_000,
      'the surviving agent back',
    );
    await waitFor(() => offersAt.length > before, 15_000, 'offers after the window');
    expect(offersAt[before]).toBeGreaterThanOrEqual(electedAt + window.reregisterTimeoutMs - 500);
    // The agent that never came back is unreachable, and the registry says so.
    const agents = await operator.agents();
    expect(agents.find((x) => x.id === dies.agentIds[0])?.status).toBe('UNREACHABLE');
    expect(agents.find((x) => x.id === stays.agentIds[0])?.status).toBe('ACTIVE');
    await waitFor(
      async () => (await reader.load()).agents.get(dies.agentIds[0])?.status === 'UNREACHABLE',
      10_000,
      'the registry to record it unreachable',
    );
    await scheduler.close();
    await stays.stop();
    await operator.close();
  });

  it('a leader whose lease may have expired (a paused process) sends nothing more with its epoch', async () => {
    const prefix = `${nats.prefix}p`;
    const s = makeSubjects(prefix);
    const a = await haMaster(prefix, 'm-paused');
    masters.push(a);
    const epochA = await a.handle.elected();
    const b = await haMaster(prefix, 'm-standby');
    masters.push(b);
    // Every message on the cluster's subjects, with the epoch it carries.
    const spy = (await nats.bus('spy')) as NatsBus;
    const seen: { at: number; epoch?: number; subject: string }[] = [];
    spy.nc.subscribe(`${prefix}.>`, {
      callback: (_e, m) => {
        let epoch: number | undefined;
        try {
          epoch = (decode(m.data, Number.MAX_SAFE_INTEGER) as { epoch?: number })?.epoch;
        } catch {}
        seen.push({ at: Date.now(), epoch, subject: m.subject });
      },
    });
    await waitFor(() => seen.some((x) => x.epoch === epochA), 5000, 'the leader announcing itself');
    // Its clock jumps past the lease's life, as a process paused and resumed finds it.
    const resumedAt = Date.now();
    a.clock.offset = leadership.lease.ttlMs * 4;
    // Once the key expires both contend, and either may win the next term (a is alive: it answers
    // its probes, so nothing takes its key over before max_age): what matters is that a's old
    // term ends and a new one begins.
    const newTerm = () => [a, b].map((m) => m.handle.leading()).find((e) => e !== undefined && e > epochA);
    await waitFor(() => newTerm() !== undefined, 15_000, 'a new term');
    await new Promise((r) => setTimeout(r, 500));
    expect(a.handle.leading()).not.toBe(epochA);
    // Its timers ran after the jump (ticks, announcements): none of it went out with its epoch.
    const late = seen.filter((x) => x.epoch === epochA && x.at > resumedAt + 50);
    expect(late).toEqual([]);
    expect(seen.some((x) => x.epoch === newTerm() && x.subject === s.leader())).toBe(true);
  });
});
