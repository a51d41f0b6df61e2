import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { type AgentHandle, startAgent } from '../../actors/agent/index.js';
import { type HaMasterHandle, startHaMaster } from '../../actors/master/index.js';
import type { Registry } from '../../actors/master/registry.js';
import { registryStreamName } from '../../actors/master/registry-store.js';
import {
  connectNats,
  type LocalNatsCluster,
  NatsBus,
  silentLogger,
  startNatsCluster,
} from '../../bus/index.js';
import { Operator } from '../../frameworks/sdk/index.js';
import { subjects as makeSubjects } from '../../protocol/index.js';
import { waitFor } from '../support/processes.js';

const prefix = 'hanats.v1';
const leadership = {
  lease: { ttlMs: 4000, renewEveryMs: 800, pollEveryMs: 200, safetyMs: 600 },
  replicas: 3,
  reregisterTimeoutMs: 20_000,
  announceEveryMs: 500,
};

describe('masters on a three-node NATS cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mezzo-hanats-'));
  let cluster: LocalNatsCluster | undefined;
  const buses: NatsBus[] = [];
  const masters: HaMasterHandle[] = [];
  let agent: AgentHandle | undefined;

  afterAll(async () => {
    await agent?.stop();
    for (const m of masters) await m.stop();
    for (const b of buses) await b.close().catch(() => {});
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const bus = async (name: string) => {
    const b = new NatsBus(
      await connectNats({ servers: cluster?.urls ?? [], name, log: silentLogger }),
      silentLogger,
    );
    buses.push(b);
    return b;
  };

  it('keeps serving when the node leading the registry stream dies, and loses no acknowledged write', async () => {
    cluster = await startNatsCluster({ dataDir: dir, nodes: 3, authorization: false });
    for (const id of ['m-a', 'm-b', 'm-c']) {
      const b = await bus(id);
      masters.push(
        await startHaMaster({
          bus: b,
          nc: b.nc,
          subjects: makeSubjects(prefix),
          log: silentLogger,
          config: { masterId: id, allocationIntervalMs: 200 },
          leadership,
        }),
      );
    }
    await waitFor(() => masters.some((m) => m.leading() !== undefined), 45_000, 'a leader');
    const workDir = join(dir, 'agent');
    agent = await startAgent({
      bus: await bus('agent'),
      subjects: makeSubjects(prefix),
      log: silentLogger,
      config: {
        workDir,
        resources: 'cpus:1;mem:256;disk:256;ports:[31000-31001]',
        natsUrl: cluster.urls.join(','),
      },
    });
    await agent.registered();
    const operator = await Operator.connect({ nats: await bus('op'), prefix, timeoutMs: 2000 });
    await waitFor(
      async () => !!(await operator.updateWeights({ eng: 2 }).catch(() => undefined)),
      20_000,
      'a write',
    );

    // Kill the node that leads the registry's stream: its writes stall until a new stream leader.
    const jsm = await jetstreamManager((buses[0] as NatsBus).nc);
    const info = await jsm.streams.info(registryStreamName(prefix));
    const victim = Number(String(info.cluster?.leader).replace(/^n/, ''));
    expect(info.config.num_replicas).toBe(3);
    const killedAt = Date.now();
    cluster.servers[victim].process.kill('SIGKILL');

    // A write is acknowledged again within the stream leader re-election time (and the lease's).
    await waitFor(
      async () => !!(await operator.updateWeights({ eng: 4 }).catch(() => undefined)),
      30_000,
      'writes resuming',
    );
    const resumedMs = Date.now() - killedAt;
    console.log(`nats-node-killed writes_resumed_ms=${resumedMs}`);
    expect(resumedMs).toBeLessThan(30_000);
    expect((await operator.weights()).weights).toContainEqual({ role: 'eng', weight: 4 });
    // The agent is still (or again) registered with whoever leads, and nothing was lost.
    await waitFor(
      async () =>
        (await operator.agents().catch(() => []))?.some(
          (a) => a.id === agent?.agentId && a.status === 'ACTIVE',
        ),
      30_000,
      'the agent active',
    );
    // A new master reading the registry from the two surviving nodes sees the acknowledged write.
    const reader = await bus('reader');
    const { RegistryStore } = await import('../../actors/master/registry-store.js');
    // Its JetStream requests may time out while a loaded cluster settles, and a stream leader just
    // elected may answer before it has applied every committed write: it reads again until the
    // acknowledged write is there. A write that was lost never shows, and the wait fails.
    let reg: Registry | undefined;
    const reads: string[] = [];
    await waitFor(
      async () => {
        try {
          const store = await RegistryStore.open({
            nc: reader.nc,
            subjects: makeSubjects(prefix),
            replicas: 3,
            log: silentLogger,
          });
          reg = await store.load();
          reads.push(`eng=${reg.weights.eng}`);
        } catch (err) {
          reads.push(`failed: ${(err as Error).message}`);
        }
        return reg?.weights.eng === 4;
      },
      30_000,
      'the acknowledged write in the registry read from the surviving nodes',
    ).catch((err) => {
      // What each read saw: a stale answer, or no answer at all.
      throw new Error(
        `${(err as Error).message}; reads: ${reads.slice(-8).join(' | ')} (${reads.length} in all)`,
      );
    });
    if (!reg) throw new Error('unreachable: waitFor returned without a registry');
    expect(reg.weights).toEqual({ eng: 4 });
    expect(reg.agents.has(agent.agentId)).toBe(true);
  }, 150_000);
});
