import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentHandle, startAgent } from '../../actors/agent/index.js';
import { startHaMaster } from '../../actors/master/index.js';
import { type NatsBus, silentLogger } from '../../bus/index.js';
import { AppsClient } from '../../frameworks/apps/client.js';
import { Operator } from '../../frameworks/sdk/index.js';
import { type ServicesFramework, startServicesFramework } from '../../frameworks/services/index.js';
import { subjects as makeSubjects } from '../../protocol/index.js';
import { waitFor } from '../support/apps.js';
import { startTestNats, type TestNats } from '../support/nats.js';

const leadership = {
  lease: { ttlMs: 1500, renewEveryMs: 300, pollEveryMs: 100, safetyMs: 300 },
  reregisterTimeoutMs: 20_000,
  announceEveryMs: 300,
};

describe('services framework across a master failover', () => {
  let nats: TestNats;
  let agent: AgentHandle | undefined;
  let services: ServicesFramework | undefined;
  let workDir: string;
  const masters: { bus: NatsBus; handle: Awaited<ReturnType<typeof startHaMaster>> }[] = [];

  beforeAll(async () => {
    nats = await startTestNats();
    workDir = mkdtempSync(join(tmpdir(), 'mezzo-svc-failover-'));
  });
  afterAll(async () => {
    await services?.stop();
    await agent?.stop();
    for (const m of masters) await m.handle.stop().catch(() => {});
    await nats?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('keeps its instances through the failover and goes on replacing them under the new leader', async () => {
    const prefix = nats.prefix;
    const subjects = makeSubjects(prefix);
    for (const id of ['m-one', 'm-two']) {
      const bus = (await nats.bus(id)) as NatsBus;
      const handle = await startHaMaster({
        bus,
        nc: bus.nc,
        subjects,
        log: silentLogger,
        config: { masterId: id, allocationIntervalMs: 100 },
        leadership,
      });
      masters.push({ bus, handle });
    }
    const leader = () => masters.find((m) => m.handle.leading() !== undefined);
    await waitFor(() => leader(), { timeoutMs: 15_000, what: 'a leader' });
    agent = await startAgent({
      bus: await nats.bus('agent'),
      subjects,
      log: silentLogger,
      config: { workDir, resources: 'cpus:2;mem:1024;disk:512;ports:[31000-31009]', natsUrl: nats.url },
    });
    await agent.registered();
    services = await startServicesFramework({ bus: await nats.bus('services'), prefix });
    const client = new AppsClient(await nats.bus('client'), prefix);
    await client.apply({ kind: 'Service', name: 'api', command: 'exec sleep 600', instances: 2 });
    const before = await waitFor(
      async () => {
        const v = await client.get('Service', 'api');
        return v.healthy === 2 ? v : undefined;
      },
      { timeoutMs: 60_000, what: 'two running instances' },
    );

    // The leader dies without releasing its lease.
    const first = leader() as (typeof masters)[number];
    await first.handle.stop({ release: false });
    await first.bus.close();
    await waitFor(() => masters.find((m) => m !== first && m.handle.leading() !== undefined), {
      timeoutMs: 20_000,
      what: 'a new leader',
    });

    const op = await Operator.connect({ nats: await nats.bus('operator'), prefix, timeoutMs: 3000 });
    // The new leader learns the framework (resubscribed) and its tasks (agent re-registered).
    await waitFor(
      async () => {
        const tasks = await op.tasks(before.frameworkId);
        return before.instances.every((i) =>
          tasks.some((t) => t.taskId === i.taskId && t.state === 'TASK_RUNNING'),
        )
          ? true
          : undefined;
      },
      { timeoutMs: 30_000, what: 'the new leader to know the instances' },
    );
    const same = await client.get('Service', 'api');
    expect(same.instances.map((i) => i.taskId).sort()).toEqual(before.instances.map((i) => i.taskId).sort());
    expect(same.healthy).toBe(2);

    const victim = before.instances[0]?.taskId as string;
    await op.killTask(victim);
    await waitFor(
      async () => {
        const v = await client.get('Service', 'api');
        return v.healthy === 2 && !v.instances.some((i) => i.taskId === victim) ? v : undefined;
      },
      { timeoutMs: 60_000, what: 'a replacement launched through the new leader' },
    );
  }, 150_000);
});
