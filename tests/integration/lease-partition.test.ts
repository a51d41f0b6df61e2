import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  connectNats,
  freePort,
  type HolderVerdict,
  kvLeaseStore,
  Lease,
  type LeaseTerm,
  type LocalNatsServer,
  natsLeaseLiveness,
  openLeaseBucket,
  silentLogger,
  startNatsServer,
} from '../../bus/index.js';
import { waitFor } from '../support/processes.js';

/** A TCP proxy in front of one route port, whose connections the test can cut for good. */
async function routeProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const timing = { ttlMs: 4000, renewEveryMs: 250, pollEveryMs: 50, safetyMs: 800 };
const BUCKET = 'lease_partition';

describe('dead leader detection when the route between two NATS servers breaks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mezzo-lease-partition-'));
  const servers: LocalNatsServer[] = [];
  const conns: NatsConnection[] = [];
  const leases: Lease[] = [];
  const proxies: Awaited<ReturnType<typeof routeProxy>>[] = [];

  afterAll(async () => {
    for (const l of leases) await l.stop().catch(() => {});
    for (const c of conns) await c.close().catch(() => {});
    for (const s of servers) await s.stop();
    for (const p of proxies) await p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A contender connected to one server only, recording what its probes found. */
  async function contender(holder: string, url: string) {
    const nc = await connectNats({ servers: url, name: holder, log: silentLogger });
    conns.push(nc);
    // A cluster that has just started elects its JetStream meta leader first.
    let kv: Awaited<ReturnType<typeof openLeaseBucket>> | undefined;
    await waitFor(
      async () => {
        kv = await openLeaseBucket(nc, BUCKET, { ttlMs: timing.ttlMs, replicas: 3 }).catch(() => undefined);
        return kv !== undefined;
      },
      30_000,
      'JetStream to take the lease bucket',
    );
    if (!kv) throw new Error('no lease bucket');
    const liveness = natsLeaseLiveness(nc, (h) => `partition.alive.${h}`, {
      timeoutMs: timing.renewEveryMs,
      log: silentLogger,
    });
    const verdicts: HolderVerdict[] = [];
    const events: { kind: 'elected' | 'deposed'; term: LeaseTerm }[] = [];
    const lease = new Lease({
      store: kvLeaseStore(kv, 'leader'),
      holder,
      timing,
      log: silentLogger,
      liveness: {
        announce: (h, onLost) => liveness.announce(h, onLost),
        probe: async (h) => {
          const v = await liveness.probe(h);
          verdicts.push(v);
          return v;
        },
      },
      onElected: (term) => events.push({ kind: 'elected', term }),
      onDeposed: (term) => events.push({ kind: 'deposed', term }),
    });
    leases.push(lease);
    return { nc, lease, verdicts, events };
  }

  it('never takes over a leader it cannot reach while the leader renews, and does once it stops', async () => {
    // n0 and n1 reach each other only through proxies (which they advertise); n2 reaches both.
    const routes = [await freePort(), await freePort(), await freePort()];
    const p0 = await routeProxy(routes[0]);
    const p1 = await routeProxy(routes[1]);
    proxies.push(p0, p1);
    const route = (port: number) => `nats-route://127.0.0.1:${port}`;
    const nodes = [
      {
        serverName: 'n0',
        port: routes[0],
        routes: [route(routes[2]), route(p1.port)],
        advertise: `127.0.0.1:${p0.port}`,
      },
      {
        serverName: 'n1',
        port: routes[1],
        routes: [route(routes[2]), route(p0.port)],
        advertise: `127.0.0.1:${p1.port}`,
      },
      { serverName: 'n2', port: routes[2], routes: [route(routes[0]), route(routes[1])] },
    ];
    for (const [i, cluster] of nodes.entries())
      servers.push(
        await startNatsServer({
          dataDir: join(dir, `n${i}`),
          authorization: false,
          cluster: { name: 'partition', ...cluster },
        }),
      );

    const a = await contender('a', servers[0].url);
    // The lease's stream led by n2, the one node both sides still reach once the route is cut.
    const jsm = await jetstreamManager(a.nc);
    await waitFor(
      async () => {
        const info = await jsm.streams.info(`KV_${BUCKET}`).catch(() => undefined);
        if (info?.cluster?.leader === 'n2' && (info.cluster.replicas ?? []).every((r) => r.current))
          return true;
        if (info?.cluster?.leader)
          await a.nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.KV_${BUCKET}`).catch(() => {});
        await new Promise((r) => setTimeout(r, 500));
        return false;
      },
      60_000,
      'n2 to lead the lease stream',
    );
    a.lease.start();
    await waitFor(() => a.lease.current() !== undefined, 15_000, 'a to lead');
    const epoch = a.lease.current()?.epoch as number;
    const b = await contender('b', servers[1].url);
    b.lease.start();
    await waitFor(() => b.verdicts.includes('alive'), 15_000, 'b to find a alive');

    // The route between n0 and n1 breaks: a's interest is gone from n1, so b's probes find nobody.
    p0.cut();
    p1.cut();
    await waitFor(
      () => b.verdicts.slice(-3).join() === 'gone,gone,gone',
      15_000,
      'b to find nobody answering for a',
    );
    // Two lease lifetimes later: a still leads in the same term (it renews through n2), b never led.
    await new Promise((r) => setTimeout(r, 2 * timing.ttlMs));
    expect(a.lease.current()?.epoch).toBe(epoch);
    expect(b.events).toEqual([]);
    expect(a.events.map((e) => e.kind)).toEqual(['elected']);

    // The control: once a stops renewing (its connection closes), b takes over long before the key expires.
    const stoppedAt = Date.now();
    await a.nc.close();
    await waitFor(() => b.lease.current() !== undefined, 15_000, 'b to take over');
    expect(Date.now() - stoppedAt).toBeLessThan(timing.ttlMs - timing.safetyMs);
    expect(b.lease.current()?.epoch).toBeGreaterThan(epoch);
  }, 150_000);
});
