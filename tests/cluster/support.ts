import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { GenericContainer, type StartedNetwork, type StartedTestContainer, Wait } from 'testcontainers';
import { NatsBus, silentLogger } from '../../bus/index.js';
import { startTestDocker } from '../support/docker.js';

/** docker runs the docker CLI (pause, kill, start, network disconnect: what testcontainers does not do). */
export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** logsOf is a container's stdout and stderr so far. */
export function logsOf(c: StartedTestContainer): string {
  return spawnSync('docker', ['logs', c.getId()], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .output.filter(Boolean)
    .join('');
}

/** newestSource is the latest modification time of the sources the mezzo image is built from. */
function newestSource(): number {
  let newest = statSync('package-lock.json').mtimeMs;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['actors', 'bus', 'protocol', 'cli', 'frameworks', 'security', 'isolation']) walk(d);
  return newest;
}

/**
 * ensureImages makes sure a Docker engine answers (starting dockerd as root when none does) and
 * that mezzo/nats and mezzo/mezzo exist and are newer than the sources; it builds them otherwise.
 */
export async function ensureImages(): Promise<void> {
  const engine = await startTestDocker();
  if (!engine.available) throw new Error(`the cluster suite needs Docker: ${engine.why}`);
  const created = (image: string) => {
    try {
      return Date.parse(docker('image', 'inspect', image, '--format', '{{.Created}}'));
    } catch {
      return 0;
    }
  };
  const sources = newestSource();
  if (created('mezzo/nats:latest') > 0 && created('mezzo/mezzo:latest') > sources) return;
  execFileSync('bash', ['deploy/images/build.sh'], { stdio: 'inherit' });
}

/** MezzoContainer is GenericContainer with `--init`, so that SIGTERM reaches mezzo. */
export class MezzoContainer extends GenericContainer {
  constructor() {
    super('mezzo/mezzo:latest');
    this.hostConfig.Init = true;
  }
}

/** natsNode starts one node of a three-node NATS cluster (names nats-1..3 on the network). */
export function natsNode(network: StartedNetwork, n: number): Promise<StartedTestContainer> {
  const routes = [1, 2, 3]
    .filter((m) => m !== n)
    .map((m) => `nats://nats-${m}:6222`)
    .join(',');
  return new GenericContainer('mezzo/nats:latest')
    .withNetwork(network)
    .withNetworkAliases(`nats-${n}`)
    .withExposedPorts(4222)
    .withCommand([
      '-js',
      '-sd',
      '/data',
      '--server_name',
      `nats-${n}`,
      '--cluster_name',
      'mezzo',
      '--cluster',
      'nats://0.0.0.0:6222',
      '--routes',
      routes,
    ])
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .withStartupTimeout(60_000)
    .start();
}

/** The NATS URL every container uses: all three nodes. */
export const CLUSTER_NATS = 'nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222';

/** masterNode starts an HA master with the suite's short timings. */
export function masterNode(network: StartedNetwork, id: string): Promise<StartedTestContainer> {
  return new MezzoContainer()
    .withNetwork(network)
    .withNetworkAliases(id)
    .withCommand(['master'])
    .withEnvironment({
      MEZZO_NATS_URL: CLUSTER_NATS,
      MEZZO_HA: '1',
      MEZZO_REPLICAS: '3',
      MEZZO_MASTER_ID: id,
      MEZZO_LEASE_TTL_MS: '3000',
      MEZZO_AGENT_PING_TIMEOUT_S: '1',
      MEZZO_MAX_AGENT_PING_TIMEOUTS: '20',
      MEZZO_REREGISTER_TIMEOUT_MS: '15000',
    })
    .withWaitStrategy(Wait.forLogMessage(/mezzo master \S+ standing by/))
    .withStartupTimeout(90_000)
    .start();
}

/** agentNode starts an agent; it is up once it has registered with the leader. */
export function agentNode(
  network: StartedNetwork,
  name: string,
  resources: string,
): Promise<StartedTestContainer> {
  return new MezzoContainer()
    .withNetwork(network)
    .withNetworkAliases(name)
    .withCommand(['agent', '--resources', resources, '--hostname', name])
    .withEnvironment({ MEZZO_NATS_URL: CLUSTER_NATS })
    .withWaitStrategy(Wait.forLogMessage(/mezzo agent \S+ registered/))
    .withStartupTimeout(90_000)
    .start();
}

/**
 * hostBus connects from the host to the NATS nodes' published ports on 127.0.0.1 only (it ignores
 * the container addresses the cluster gossips), reconnecting forever.
 */
export async function hostBus(nodes: StartedTestContainer[], name: string): Promise<NatsBus> {
  const nc = await connect({
    servers: nodes.map((n) => `nats://127.0.0.1:${n.getMappedPort(4222)}`),
    name,
    ignoreClusterUpdates: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  return new NatsBus(nc, silentLogger);
}

/** until polls `check` (sync or async) until it is truthy, or throws naming `what`. */
export async function until<T>(
  check: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined;
    try {
      v = await check();
    } catch {
      v = undefined;
    }
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
