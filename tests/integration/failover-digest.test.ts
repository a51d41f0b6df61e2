import { describe, expect, it } from 'vitest';
import { startHaMaster } from '../../actors/master/index.js';
import { startSimulator } from '../../actors/simulator/index.js';
import { type NatsBus, silentLogger } from '../../bus/index.js';
import { Operator, Scheduler } from '../../frameworks/sdk/index.js';
import { FrameworkInfo, subjects as makeSubjects, resources as R } from '../../protocol/index.js';
import { waitFor as eventually } from '../support/apps.js';
import type { TestNats } from '../support/nats.js';
import { waitFor } from '../support/processes.js';
import { testScope } from '../support/scope.js';
import { runningSeed } from '../support/sim.js';

/**
 * A standby follows the agents while the leader serves them; after the leader dies, agents send
 * the new leader a digest of their running tasks instead of the tasks, and it takes its copy.
 * A standby that did not follow them (it started later) answers DIGEST_MISMATCH and gets every
 * task in full: the failover is as complete either way.
 */
const scope = testScope();

const leadership = {
  lease: { ttlMs: 1500, renewEveryMs: 100, pollEveryMs: 25, safetyMs: 300 },
  reregisterTimeoutMs: 20_000,
  announceEveryMs: 300,
};

async function haMaster(nats: TestNats, prefix: string, id: string) {
  const bus = (await nats.bus(id)) as NatsBus;
  const handle = await startHaMaster({
    bus,
    nc: bus.nc,
    subjects: makeSubjects(prefix),
    log: silentLogger,
    config: { masterId: id, allocationIntervalMs: 100 },
    leadership,
  });
  scope.defer(() => handle.stop());
  return handle;
}

const AGENTS = 12;
const frameworks = [0, 1, 2].map((i) =>
  FrameworkInfo.parse({ id: `fw-digest-${i}`, name: `digest-${i}`, failoverTimeoutSeconds: 600 }),
);

async function agents(nats: TestNats, prefix: string) {
  const sim = await startSimulator({
    bus: (await nats.bus(`sim-${prefix}`)) as NatsBus,
    subjects: makeSubjects(prefix),
    agents: AGENTS,
    resources: R.parseResources('cpus:32;mem:131072'),
    idPrefix: 'digest',
    taskDurationMs: Number.POSITIVE_INFINITY,
    seed: runningSeed((i) => [frameworks[i % 3], frameworks[(i + 1) % 3], frameworks[(i + 1) % 3]]),
  });
  scope.defer(() => sim.stop());
  return sim;
}

async function everyAgentBack(nats: TestNats, prefix: string, masterId: string) {
  const operator = await Operator.connect({ nats: await nats.bus(`op-${prefix}`), prefix, timeoutMs: 2000 });
  scope.defer(() => operator.close());
  await eventually(
    async () => {
      const m = await operator.master();
      return m.masterId === masterId && m.recoveringAgents === 0 ? true : undefined;
    },
    { timeoutMs: 20_000, what: 'every agent back with the new leader' },
  );
  return operator;
}

/** A leader, a standby that has followed every agent's REGISTER, and the agents. */
async function followedCluster(nats: TestNats, prefix: string, ids: [string, string]) {
  const leader = await haMaster(nats, prefix, ids[0]);
  await leader.elected();
  const standby = await haMaster(nats, prefix, ids[1]);
  const sim = await agents(nats, prefix);
  await sim.whenRegistered(AGENTS, 20_000);
  await waitFor(() => standby.following() === AGENTS, 10_000, 'the standby following every agent');
  return { leader, standby, sim };
}

describe('re-registration by digest after a failover', () => {
  it('takes the running tasks from what the standby followed, for every agent', async () => {
    const nats = await scope.startNats();
    const prefix = `${nats.prefix}d`;
    const { leader: a, standby: b, sim } = await followedCluster(nats, prefix, ['m-a', 'm-b']);
    // The standby copied every agent's REGISTER; the leader follows nobody.
    expect(a.following()).toBe(0);
    const before = sim.stats();
    await a.stop({ release: false });
    const operator = await everyAgentBack(nats, prefix, 'm-b');
    const after = sim.stats();
    expect(after.digestRegistrations - before.digestRegistrations).toBe(AGENTS);
    expect(after.digestMismatches - before.digestMismatches).toBe(0);
    expect(after.registerFailures - before.registerFailures).toBe(0);
    // Every task is known to the new leader, on its agent, running.
    const tasks = (await operator.tasks()).filter((t) => t.state === 'TASK_RUNNING');
    expect(tasks).toHaveLength(AGENTS * 3);
    expect(new Set(tasks.map((t) => `${t.frameworkId}/${t.taskId}/${t.agentId}`)).size).toBe(AGENTS * 3);
    // Leading, it follows nobody; its copies were handed to its term.
    expect(b.following()).toBe(0);
  }, 60_000);

  it('takes tasks launched after the agents registered from the copy too', async () => {
    const nats = await scope.startNats();
    const prefix = `${nats.prefix}l`;
    const { leader: a, sim } = await followedCluster(nats, prefix, ['m-e', 'm-f']);
    // A framework launches two tasks on each agent after it registered: the standby learns their
    // infos from the leader's RUN_TASKS and their states from the agents' updates.
    const running = new Set<string>();
    const launched = new Set<string>();
    const scheduler = await Scheduler.start({
      nats: await nats.bus('late-framework'),
      prefix,
      framework: { id: 'fw-late', name: 'late', failoverTimeoutSeconds: 600 },
      log: silentLogger,
    });
    scope.defer(() => scheduler.close());
    scheduler.on('update', (st) => {
      if (st.state === 'TASK_RUNNING') running.add(st.taskId);
    });
    scheduler.on('offers', async (offers) => {
      for (const offer of offers) {
        if (launched.size >= AGENTS * 2 || [...launched].some((id) => id.startsWith(`${offer.agentId}.`))) {
          await scheduler.decline([offer.id], { refuseSeconds: 3600 }).catch(() => {});
          continue;
        }
        const tasks = [0, 1].map((k) => ({
          taskId: `late-${offer.agentId}-${k}`,
          name: 'late',
          resources: R.parseResources('cpus:0.1;mem:16'),
          command: { value: 'sleep 1d' },
        }));
        for (const t of tasks) launched.add(`${offer.agentId}.${t.taskId}`);
        await scheduler.launch(offer, tasks).catch(() => {});
      }
    });
    await waitFor(() => running.size === AGENTS * 2, 20_000, 'the late tasks running');
    const before = sim.stats();
    await a.stop({ release: false });
    const operator = await everyAgentBack(nats, prefix, 'm-f');
    const after = sim.stats();
    expect(after.digestRegistrations - before.digestRegistrations).toBe(AGENTS);
    expect(after.digestMismatches - before.digestMismatches).toBe(0);
    const tasks = (await operator.tasks()).filter((t) => t.state === 'TASK_RUNNING');
    expect(tasks).toHaveLength(AGENTS * 5);
    expect(tasks.filter((t) => t.frameworkId === 'fw-late')).toHaveLength(AGENTS * 2);
  }, 60_000);

  it('gets every task in full from agents the new leader did not follow', async () => {
    const nats = await scope.startNats();
    const prefix = `${nats.prefix}m`;
    const a = await haMaster(nats, prefix, 'm-c');
    await a.elected();
    const sim = await agents(nats, prefix);
    await sim.whenRegistered(AGENTS, 20_000);
    // This standby starts after the agents registered: it has no copy of any of them.
    const b = await haMaster(nats, prefix, 'm-d');
    expect(b.following()).toBe(0);
    const before = sim.stats();
    await a.stop({ release: false });
    const operator = await everyAgentBack(nats, prefix, 'm-d');
    const after = sim.stats();
    expect(after.digestMismatches - before.digestMismatches).toBe(AGENTS);
    expect(after.digestRegistrations - before.digestRegistrations).toBe(0);
    expect(after.registerFailures - before.registerFailures).toBe(0);
    expect((await operator.tasks()).filter((t) => t.state === 'TASK_RUNNING')).toHaveLength(AGENTS * 3);
  }, 60_000);
});
