import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceView } from '../../frameworks/apps/api.js';
import { AppsClient } from '../../frameworks/apps/client.js';
import type { ServiceSpec } from '../../frameworks/apps/spec.js';
import { parseSpecs } from '../../frameworks/apps/spec-file.js';
import { Operator } from '../../frameworks/sdk/index.js';
import { startServicesFramework } from '../../frameworks/services/index.js';
import { isTerminal } from '../../protocol/index.js';
import { waitFor } from '../support/apps.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';

/** pidListeningOn finds the process listening on a loopback port (ss), to kill one instance. */
function pidListeningOn(port: number): number | undefined {
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const m = /pid=(\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

async function httpOk(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

const webSpec = () =>
  parseSpecs(readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8'))[0] as ServiceSpec;

describe('services framework on a real master and agent', () => {
  let cluster: TestCluster;
  let stop: (() => Promise<void>) | undefined;
  let client: AppsClient;

  beforeEach(async () => {
    cluster = await startTestCluster({
      // Instances listen on their ports (python http.server): a range away from other tests' agents.
      agent: { resources: 'cpus:4;mem:2048;disk:512;ports:[38200-38219]' },
    });
    const services = await startServicesFramework({
      bus: await cluster.nats.bus('services'),
      prefix: cluster.nats.prefix,
    });
    stop = () => services.stop();
    client = new AppsClient(await cluster.nats.bus('client'), cluster.nats.prefix);
  });
  afterEach(async () => {
    await stop?.();
    await cluster.stop();
  });

  const settled = (version: number) =>
    waitFor(
      async () => {
        const v = await client.get('Service', 'web');
        return v.version === version && !v.deployment && v.healthy === 3 && v.instances.length === 3
          ? v
          : undefined;
      },
      { timeoutMs: 60_000, what: `web version ${version} with 3 healthy instances` },
    );

  it('starts examples/web.yaml healthy, replaces a killed instance, and rolls out never below minHealthCapacity', async () => {
    expect((await client.apply(webSpec())).action).toBe('created');
    const first = await settled(1);
    for (const i of first.instances) expect(await httpOk(i.ports[0] as number)).toBe(true);
    expect(new Set(first.instances.map((i) => i.ports[0])).size).toBe(3);

    // Kill one instance's process: the framework replaces it.
    const victim = first.instances[0] as ServiceView['instances'][number];
    const pid = pidListeningOn(victim.ports[0] as number);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid as number, 'SIGKILL');
    const replaced = await waitFor(
      async () => {
        const v = await client.get('Service', 'web');
        return v.healthy === 3 && !v.instances.some((i) => i.taskId === victim.taskId) ? v : undefined;
      },
      { timeoutMs: 60_000, what: 'a replacement instance' },
    );
    expect(replaced.events.some((e) => e.message.includes(`${victim.taskId} failed`))).toBe(true);

    // Change the spec: a rolling upgrade that never has fewer than ceil(3 * 0.5) = 2 healthy.
    const next = { ...webSpec(), env: { GREETING: 'bonjour' } };
    const applied = await client.apply(next);
    expect(applied).toMatchObject({ action: 'updated', version: 2 });
    expect(applied.changes).toEqual(['env.GREETING: "hello" -> "bonjour"']);
    let minHealthy = Number.POSITIVE_INFINITY;
    let maxInstances = 0;
    const done = await waitFor(
      async () => {
        const v = await client.get('Service', 'web');
        minHealthy = Math.min(minHealthy, v.healthy);
        maxInstances = Math.max(maxInstances, v.instances.length);
        return v.version === 2 &&
          !v.deployment &&
          v.healthy === 3 &&
          v.instances.every((i) => i.version === 2) &&
          v.instances.length === 3
          ? v
          : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 50, what: 'the rollout to version 2' },
    );
    expect(minHealthy).toBeGreaterThanOrEqual(2);
    expect(maxInstances).toBeLessThanOrEqual(4);
    expect(done.events.some((e) => e.message === 'rollout to version 2 done')).toBe(true);
  }, 240_000);

  it('survives its own restart: resubscribes as the same framework, keeps the instances and goes on replacing them', async () => {
    await client.apply({ ...webSpec(), healthCheck: undefined });
    const before = await settled(1);
    await stop?.();
    const again = await startServicesFramework({
      bus: await cluster.nats.bus('services-2'),
      prefix: cluster.nats.prefix,
    });
    stop = () => again.stop();
    expect(again.host.scheduler.frameworkId).toBe(before.frameworkId);
    const after = await settled(1);
    expect(after.instances.map((i) => i.taskId).sort()).toEqual(before.instances.map((i) => i.taskId).sort());
    const victim = after.instances[1] as ServiceView['instances'][number];
    // Without a health check RUNNING counts as healthy; wait until it actually listens.
    const pid = await waitFor(() => pidListeningOn(victim.ports[0] as number), {
      what: 'the instance to listen',
    });
    process.kill(pid, 'SIGKILL');
    await waitFor(
      async () => {
        const v = await client.get('Service', 'web');
        return v.healthy === 3 && !v.instances.some((i) => i.taskId === victim.taskId) ? v : undefined;
      },
      { timeoutMs: 60_000, what: 'a replacement after the restart' },
    );
  }, 120_000);

  it('rolls back a new version that never gets healthy, keeping minHealthCapacity meanwhile', async () => {
    await client.apply(webSpec());
    await settled(1);
    // Runs, but serves nothing: its HTTP health check never passes.
    const broken = {
      ...webSpec(),
      command: 'exec sleep 600',
      upgrade: { ...webSpec().upgrade, progressDeadlineSeconds: 8 },
    };
    await client.apply(broken);
    let minHealthy = Number.POSITIVE_INFINITY;
    const back = await waitFor(
      async () => {
        const v = await client.get('Service', 'web');
        minHealthy = Math.min(minHealthy, v.healthy);
        return v.version === 3 && !v.deployment && v.healthy === 3 ? v : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 100, what: 'the rollback to version 3' },
    );
    expect(back.spec.command).toBe(webSpec().command);
    expect(back.events.some((e) => /rollout failed: .*rolling back/.test(e.message))).toBe(true);
    expect(minHealthy).toBeGreaterThanOrEqual(2);
    for (const i of back.instances) expect(await httpOk(i.ports[0] as number)).toBe(true);
  }, 240_000);

  it('scales up and down, restarts, deletes, and refuses an invalid spec without changing anything', async () => {
    const small = { ...webSpec(), instances: 1, healthCheck: undefined };
    await client.apply(small);
    await waitFor(async () => ((await client.get('Service', 'web')).healthy === 1 ? true : undefined), {
      timeoutMs: 60_000,
    });
    await client.scale('web', 3);
    await waitFor(async () => ((await client.get('Service', 'web')).healthy === 3 ? true : undefined), {
      timeoutMs: 60_000,
    });
    await client.scale('web', 2);
    const scaled = await waitFor(
      async () => {
        const v = await client.get('Service', 'web');
        return v.instances.length === 2 ? v : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(scaled.version).toBe(1);

    await expect(client.apply({ ...small, instances: -1 })).rejects.toThrow(
      /services\.web\.instances: expected a non-negative integer/,
    );
    expect((await client.get('Service', 'web')).spec.instances).toBe(2);

    await client.restart('web');
    const restarted = await waitFor(
      async () => {
        const v = await client.get('Service', 'web');
        return v.version === 2 &&
          !v.deployment &&
          v.instances.length === 2 &&
          v.instances.every((i) => i.version === 2 && i.healthy)
          ? v
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(restarted.instances.map((i) => i.taskId)).not.toEqual(scaled.instances.map((i) => i.taskId));

    await client.delete('Service', 'web');
    await waitFor(async () => ((await client.list('Service')).length === 0 ? true : undefined), {
      timeoutMs: 60_000,
    });
    const op = new Operator(await cluster.nats.bus('operator'), cluster.subjects);
    const left = (await op.tasks(restarted.frameworkId)).filter((t) => !isTerminal(t.state));
    expect(left).toEqual([]);
  }, 240_000);
});
