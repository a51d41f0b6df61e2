import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MasterHandle, startMaster } from '../../actors/master/index.js';
import { type NatsBus, silentLogger } from '../../bus/index.js';
import { main } from '../../cli/index.js';
import { Operator, Scheduler } from '../../frameworks/sdk/index.js';
import {
  AgentToMaster,
  MasterToAgent,
  subjects as makeSubjects,
  type Offer,
  resources as R,
  Registered,
  type Subjects,
} from '../../protocol/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';
import { waitFor } from '../support/processes.js';

const AGENTS = 4;
const AGENT_RESOURCES = 'cpus:4;mem:4096';
const TASK = R.parseResources('cpus:0.5;mem:512');
// 4 agents x cpus 4 = 16 cpus, 32 tasks of cpus .5 (each task is 1/32 of cpus and of mem).
const SLOTS = 32;

/**
 * playAgent registers an agent by hand and plays it: every RUN_TASK is answered with TASK_RUNNING,
 * so tasks hold their resources for good and no process runs.
 */
async function playAgent(bus: NatsBus, s: Subjects, id: string): Promise<void> {
  let seq = 0;
  bus.listen(s.agent(id), MasterToAgent, (m) => {
    if (m.type !== 'RUN_TASK') return;
    bus.publish(s.masterAgent(id), AgentToMaster, {
      type: 'STATUS_UPDATE',
      update: {
        frameworkId: m.framework.id,
        status: {
          taskId: m.task.taskId,
          agentId: id,
          state: 'TASK_RUNNING',
          source: 'SOURCE_EXECUTOR',
          uuid: `${id}-${++seq}`,
          timestamp: Date.now(),
        },
      },
    });
  });
  await bus.flush();
  await bus.request(
    s.masterAgent(id),
    AgentToMaster,
    {
      type: 'REGISTER',
      agent: { id, hostname: id, resources: R.parseResources(AGENT_RESOURCES), version: '0.1.0' },
    },
    Registered,
  );
}

/** greedy is a framework that launches one small task on every offer that fits and declines the rest. */
async function greedy(nats: TestNats, role: string): Promise<Scheduler> {
  let n = 0;
  const scheduler = await Scheduler.start({
    nats: nats.url,
    prefix: nats.prefix,
    framework: { name: `greedy-${role}`, roles: [role] },
    log: silentLogger,
  });
  scheduler.on('offers', async (offers: Offer[]) => {
    for (const offer of offers) {
      if (!R.fitIn(offer.resources, TASK)) {
        await scheduler.decline(offer.id, { refuseSeconds: 1 }).catch(() => {});
        continue;
      }
      // One task per offer: what is left goes straight back, so every task is a fresh DRF decision.
      const taskId = `${role}-${++n}`;
      await scheduler
        .launch(offer, [{ taskId, name: taskId, resources: TASK, command: { value: 'sleep 1000' } }], {
          refuseSeconds: 0,
        })
        .catch(() => {});
    }
  });
  return scheduler;
}

describe('weighted DRF through a real master', () => {
  let nats: TestNats;
  let master: MasterHandle;
  let operator: Operator;
  const schedulers: Scheduler[] = [];

  beforeAll(async () => {
    nats = await startTestNats();
    const s = makeSubjects(nats.prefix);
    master = await startMaster({
      bus: await nats.bus('master'),
      subjects: s,
      log: silentLogger,
      config: { allocationIntervalMs: 100 },
    });
    operator = await Operator.connect({ nats: await nats.bus('operator'), prefix: nats.prefix });
    const agentBus = await nats.bus('agents');
    for (let i = 1; i <= AGENTS; i++) await playAgent(agentBus, s, `ag${i}`);
  });
  afterAll(async () => {
    for (const sch of schedulers) await sch.close().catch(() => {});
    await operator.close();
    await master.stop();
    await nats.stop();
  });

  it('converges to shares 1:3 for two roles of weights 1 and 3 competing for the whole cluster', async () => {
    expect(await operator.updateWeights({ light: 1, heavy: 3 })).toEqual({
      weights: [
        { role: 'heavy', weight: 3 },
        { role: 'light', weight: 1 },
      ],
    });
    schedulers.push(await greedy(nats, 'light'), await greedy(nats, 'heavy'));
    const running = () =>
      master.state().tasks.filter((t) => t.state === 'TASK_RUNNING' || t.state === 'TASK_STAGING');
    await waitFor(() => running().length === SLOTS, 20_000, 'the cluster to fill up');
    const byRole = (prefix: string) => running().filter((t) => t.taskId.startsWith(prefix)).length;
    // Weighted fair shares: light 1/4 of 32 = 8 tasks, heavy 3/4 = 24; allow a task or two either way.
    expect(byRole('light-')).toBeGreaterThanOrEqual(6);
    expect(byRole('light-')).toBeLessThanOrEqual(10);
    expect(byRole('light-') + byRole('heavy-')).toBe(SLOTS);

    const roles = await operator.roles();
    const share = (role: string) => roles.find((r) => r.role === role);
    expect(share('light')?.dominantShare).toBeCloseTo(byRole('light-') / SLOTS, 5);
    expect(share('heavy')?.dominantShare).toBeCloseTo(byRole('heavy-') / SLOTS, 5);
    // Weighted shares (share / weight) come out about equal: .25 / 1 and .75 / 3.
    expect(
      Math.abs((share('light')?.weightedShare ?? 0) - (share('heavy')?.weightedShare ?? 0)),
    ).toBeLessThan(0.07);
    const { metrics } = await operator.metrics();
    expect(metrics['master/cpus_percent']).toBe(1);
    expect(metrics['master/tasks_running'] + metrics['master/tasks_staging']).toBe(SLOTS);
    expect(metrics['allocator/allocation_runs']).toBeGreaterThan(0);
  });

  it('shows and changes weights and quota from the command line', async () => {
    const run = async (...args: string[]) => {
      let out = '';
      let err = '';
      const sink = (add: (s: string) => void) =>
        ({
          write: (s: string | Uint8Array) => {
            add(String(s));
            return true;
          },
        }) as unknown as NodeJS.WritableStream;
      const code = await main(['node', 'mezzo', ...args, '--nats', nats.url, '--prefix', nats.prefix], {
        stdout: sink((s) => (out += s)),
        stderr: sink((s) => (err += s)),
      });
      return { code, out, err };
    };
    const roles = await run('roles');
    expect(roles.code).toBe(0);
    expect(roles.out).toMatch(/heavy\s*│\s*3\s*│\s*1\s/);
    expect((await run('weights', 'light=2')).out).toMatch(/light\s*│\s*2\s/);
    const quota = await run('quota', 'heavy', '--limit', 'cpus:100', '--json');
    expect(JSON.parse(quota.out)).toEqual({
      quotas: [{ role: 'heavy', guarantee: [], limit: [{ name: 'cpus', scalar: 100 }] }],
    });
    const refused = await run('weights', 'light=0');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('above zero');
    expect((await operator.weights()).weights).toContainEqual({ role: 'light', weight: 2 });
    expect((await run('quota', 'heavy', '--remove')).out).toContain('no quotas');
  });
});
