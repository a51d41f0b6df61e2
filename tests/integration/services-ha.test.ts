import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppsClient } from '../../frameworks/apps/client.js';
import { type Leading, runWhileLeading } from '../../frameworks/apps/ha.js';
import { Operator } from '../../frameworks/sdk/index.js';
import { startServicesFramework } from '../../frameworks/services/index.js';
import { waitFor } from '../support/apps.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';

const timing = { ttlMs: 1500, renewEveryMs: 300, pollEveryMs: 150, safetyMs: 300 };

describe('services framework with two copies under a lease', () => {
  let cluster: TestCluster;
  let copies: Leading[] = [];
  let client: AppsClient;

  const copy = async (n: number) => {
    const bus = await cluster.nats.bus(`services-${n}`);
    return runWhileLeading({ bus, prefix: cluster.nats.prefix, name: 'services', timing }, (acting) =>
      startServicesFramework({ bus, prefix: cluster.nats.prefix, acting }),
    );
  };

  beforeEach(async () => {
    cluster = await startTestCluster({
      agent: { resources: 'cpus:4;mem:2048;disk:512;ports:[31000-31009]' },
    });
    copies = [await copy(1), await copy(2)];
    client = new AppsClient(await cluster.nats.bus('client'), cluster.nats.prefix);
  });
  afterEach(async () => {
    for (const c of copies) await c.stop();
    await cluster.stop();
  });

  it('runs exactly one active copy; when it stops, the other takes over the same framework and its instances', async () => {
    await waitFor(() => (copies.filter((c) => c.leading()).length === 1 ? true : undefined), {
      what: 'one leader',
    });
    await client.apply({ kind: 'Service', name: 'api', command: 'exec sleep 600', instances: 2 });
    const before = await waitFor(
      async () => {
        const v = await client.get('Service', 'api');
        return v.healthy === 2 ? v : undefined;
      },
      { timeoutMs: 60_000, what: 'two running instances' },
    );
    expect(copies.filter((c) => c.leading())).toHaveLength(1);

    const leader = copies.find((c) => c.leading()) as Leading;
    const standby = copies.find((c) => c !== leader) as Leading;
    await leader.stop();
    await waitFor(() => (standby.leading() ? true : undefined), {
      timeoutMs: 15_000,
      what: 'the standby to lead',
    });
    const after = await waitFor(
      async () => {
        const v = await client.get('Service', 'api');
        return v.healthy === 2 ? v : undefined;
      },
      { timeoutMs: 30_000, what: 'the new leader to answer' },
    );
    expect(after.frameworkId).toBe(before.frameworkId);
    expect(after.instances.map((i) => i.taskId).sort()).toEqual(before.instances.map((i) => i.taskId).sort());

    // The new leader keeps the service whole: an instance killed behind its back is replaced.
    const victim = after.instances[0]?.taskId as string;
    await new Operator(await cluster.nats.bus('operator'), cluster.subjects).killTask(victim);
    await waitFor(
      async () => {
        const v = await client.get('Service', 'api');
        return v.healthy === 2 && !v.instances.some((i) => i.taskId === victim) ? v : undefined;
      },
      { timeoutMs: 60_000, what: 'a replacement by the new leader' },
    );
  }, 120_000);
});
