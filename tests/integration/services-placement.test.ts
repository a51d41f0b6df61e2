import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentHandle, startAgent } from '../../actors/agent/index.js';
import { silentLogger } from '../../bus/index.js';
import { AppsClient } from '../../frameworks/apps/client.js';
import { type ServicesFramework, startServicesFramework } from '../../frameworks/services/index.js';
import { waitFor } from '../support/apps.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';

describe('services framework placement on two agents', () => {
  let cluster: TestCluster;
  let second: AgentHandle;
  let secondDir: string;
  let services: ServicesFramework;
  let client: AppsClient;

  beforeEach(async () => {
    cluster = await startTestCluster({
      agent: {
        resources: 'cpus:4;mem:2048;disk:512;ports:[31000-31009]',
        attributes: 'zone:west;rack:a1',
        hostname: 'host-a',
      },
    });
    secondDir = mkdtempSync(join(tmpdir(), 'mezzo-agent-b-'));
    second = await startAgent({
      bus: await cluster.nats.bus('agent-b'),
      subjects: cluster.subjects,
      log: silentLogger,
      config: {
        workDir: secondDir,
        resources: 'cpus:4;mem:2048;disk:512;ports:[31010-31019]',
        attributes: 'zone:east;rack:b1',
        hostname: 'host-b',
        natsUrl: cluster.nats.url,
      },
    });
    await second.registered();
    services = await startServicesFramework({
      bus: await cluster.nats.bus('services'),
      prefix: cluster.nats.prefix,
    });
    client = new AppsClient(await cluster.nats.bus('client'), cluster.nats.prefix);
  });
  afterEach(async () => {
    await services.stop();
    await second.stop();
    await cluster.stop();
    rmSync(secondDir, { recursive: true, force: true });
  });

  it('spreads instances with zone UNIQUE, one per zone, and leaves the third unplaced', async () => {
    await client.apply({
      kind: 'Service',
      name: 'spread',
      command: 'exec sleep 600',
      instances: 3,
      ports: 1,
      constraints: ['zone UNIQUE'],
    });
    const v = await waitFor(
      async () => {
        const s = await client.get('Service', 'spread');
        return s.healthy === 2 ? s : undefined;
      },
      { timeoutMs: 60_000, what: 'two instances' },
    );
    expect(v.instances.map((i) => i.hostname).sort()).toEqual(['host-a', 'host-b']);
    // Each got a port from its own agent's range.
    for (const i of v.instances)
      expect(i.ports[0]).toBeGreaterThanOrEqual(i.hostname === 'host-a' ? 31000 : 31010);
    await sleep(2000);
    expect((await client.get('Service', 'spread')).instances).toHaveLength(2);
  }, 90_000);

  it('keeps instances on the agents whose attribute matches LIKE', async () => {
    await client.apply({
      kind: 'Service',
      name: 'racked',
      command: 'exec sleep 600',
      instances: 3,
      constraints: ['rack LIKE b.*'],
    });
    const v = await waitFor(
      async () => {
        const s = await client.get('Service', 'racked');
        return s.healthy === 3 ? s : undefined;
      },
      { timeoutMs: 60_000, what: 'three instances' },
    );
    expect(new Set(v.instances.map((i) => i.hostname))).toEqual(new Set(['host-b']));
  }, 90_000);
});
