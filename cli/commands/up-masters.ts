import { type HaMasterHandle, type MasterOptions, startHaMaster } from '../../actors/master/index.js';
import { type LocalNatsCluster, type Logger, type NatsBus, startNatsCluster } from '../../bus/index.js';
import type { Teardown } from '../shutdown.js';

/** HA_NATS_NODES is how many nats-servers `mezzo up --masters N` (N > 1) clusters on loopback. */
export const HA_NATS_NODES = 3;

/**
 * startLocalNatsCluster runs three nats-servers clustered on loopback with JetStream, for
 * `mezzo up --masters N`. Losing one node is survivable, so it is only logged; `onAllGone` runs
 * when every node has exited on its own.
 */
export async function startLocalNatsCluster(
  natsDir: string,
  authorization: string | false,
  log: Logger,
  teardown: Teardown,
  forceKills: (() => void)[],
  onAllGone: () => void,
): Promise<LocalNatsCluster> {
  const cluster = await startNatsCluster({ dataDir: natsDir, nodes: HA_NATS_NODES, authorization });
  let stopping = false;
  let alive = cluster.servers.length;
  teardown.add('nats-servers', () => {
    stopping = true;
    return cluster.stop();
  });
  for (const server of cluster.servers) {
    forceKills.push(() => server.process.kill('SIGKILL'));
    server.process.once('exit', (code, signal) => {
      if (stopping) return;
      alive--;
      log.warn({ code, signal, pid: server.pid, alive }, 'a nats-server of the cluster exited');
      if (alive === 0) onAllGone();
    });
  }
  log.info({ urls: cluster.urls, pids: cluster.servers.map((s) => s.pid) }, 'nats cluster started');
  return cluster;
}

/**
 * startLocalMasters runs `count` highly available masters, each on its own connection, with the
 * lease and registry replicated `replicas` times, and resolves once one of them leads.
 */
export async function startLocalMasters(
  count: number,
  replicas: number,
  connect: (name: string) => Promise<NatsBus>,
  options: Omit<MasterOptions, 'bus'>,
  teardown: Teardown,
  electionTimeoutMs = 60_000,
): Promise<HaMasterHandle[]> {
  const masters: HaMasterHandle[] = [];
  for (let i = 0; i < count; i++) {
    const bus = await connect(`mezzo-master-${i}`);
    teardown.add(`master ${i} connection`, () => bus.close());
    const master = await startHaMaster({ ...options, bus, nc: bus.nc, leadership: { replicas } });
    // Teardown runs backwards: each master stops before its connection closes.
    teardown.add(`master ${i}`, () => master.stop());
    masters.push(master);
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.race(masters.map((m) => m.elected())),
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no master was elected within ${electionTimeoutMs / 1000} s`)),
        electionTimeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  return masters;
}
