import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';

/** NatsServerOptions configure a local nats-server that Mezzo spawns for itself. */
export interface NatsServerOptions {
  /** Where the config, the JetStream store and the log live. */
  dataDir: string;
  /** Client port; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Accepted by the server; components still refuse anything over their own limit. */
  maxPayloadBytes?: number;
  binary?: string;
  /**
   * nats-server's `authorization` block (see security/), kept in `<dataDir>/auth.conf` so that
   * credentials can be added later and picked up with reloadNatsServer. `false` runs the server
   * without authentication: only tests ask for that, explicitly.
   */
  authorization?: string | false;
  /** Serve clients over TLS only: the server's certificate and key, and the CA of client certificates. */
  tls?: { certFile: string; keyFile: string; caFile?: string; verify?: boolean };
  /**
   * Join a cluster (HA): JetStream then replicates across its nodes. Each node needs a unique
   * name, and the routes of the others (`nats-route://host:port`).
   */
  cluster?: NatsClusterOptions;
}

/** NatsClusterOptions make a nats-server one node of a JetStream cluster. */
export interface NatsClusterOptions {
  /** This node's unique name (JetStream's server_name). */
  serverName: string;
  /** The cluster's name, the same on every node. */
  name: string;
  /** The port routes from other nodes connect to. */
  port: number;
  /** The other nodes' routes (`nats-route://127.0.0.1:6222`). */
  routes: string[];
  /** The route address this node gives the others (`host:port`), when they must not use `port`. */
  advertise?: string;
}

/** LocalNatsServer is a running nats-server child process. */
export interface LocalNatsServer {
  url: string;
  pid: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** NatsServerMissingError says nats-server is not installed, and how to install it. */
export class NatsServerMissingError extends Error {
  override name = 'NatsServerMissingError';
  constructor(cause?: unknown) {
    super('nats-server was not found on PATH; install it (Debian: apt-get install -y nats-server)', {
      cause,
    });
  }
}

/**
 * startNatsServer spawns nats-server with JetStream on loopback and resolves once it accepts
 * clients, with the URL it listens on.
 */
export function startNatsServer(opts: NatsServerOptions): Promise<LocalNatsServer> {
  mkdirSync(opts.dataDir, { recursive: true });
  const host = opts.host ?? '127.0.0.1';
  const conf = join(opts.dataDir, 'nats.conf');
  if (opts.authorization) writeNatsAuthorization(opts.dataDir, opts.authorization);
  const tls = opts.tls;
  writeFileSync(
    conf,
    [
      `listen: "${host}:${opts.port && opts.port > 0 ? opts.port : -1}"`,
      `max_payload: ${opts.maxPayloadBytes ?? 8 * 1024 * 1024}`,
      `jetstream { store_dir: ${JSON.stringify(join(opts.dataDir, 'jetstream'))} }`,
      ...(opts.cluster ? clusterConfig(opts.cluster, host) : []),
      ...(opts.authorization ? [`include ${AUTH_FILE}`] : []),
      ...(tls
        ? [
            `tls { cert_file: ${JSON.stringify(tls.certFile)}, key_file: ${JSON.stringify(tls.keyFile)}` +
              `${tls.caFile ? `, ca_file: ${JSON.stringify(tls.caFile)}` : ''}${tls.verify ? ', verify: true' : ''} }`,
          ]
        : []),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const child = spawn(opts.binary ?? 'nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let url: string | undefined;
    let log = '';
    const onExit = (code: number | null) =>
      reject(new Error(`nats-server exited (${code}) before it was ready:\n${log}`));
    child.once('error', (err) =>
      reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new NatsServerMissingError(err) : err),
    );
    child.once('exit', onExit);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (log.length < 20_000) log += chunk;
      const m = /Listening for client connections on ([\d.:[\]a-f]+):(\d+)/.exec(log);
      if (m && !url) url = `nats://${host}:${m[2]}`;
      if (url && /Server is ready/.test(log)) {
        child.off('exit', onExit);
        child.stderr?.removeAllListeners('data');
        child.stderr?.resume();
        const ready = url;
        resolve({
          url: ready,
          pid: child.pid as number,
          process: child,
          stop: () => stopChild(child),
        });
      }
    });
  });
}

const AUTH_FILE = 'auth.conf';

/** writeNatsAuthorization replaces the `authorization` block a server in `dataDir` includes (mode 0600). */
export function writeNatsAuthorization(dataDir: string, authorization: string): void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, AUTH_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, authorization, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** reloadNatsServer asks a running nats-server to re-read its configuration (SIGHUP), e.g. new users. */
export function reloadNatsServer(pid: number): void {
  process.kill(pid, 'SIGHUP');
}

/** stopChild sends SIGTERM, then SIGKILL after a grace period, and resolves when the child is gone. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** clusterConfig is the server_name and cluster block of one node of a JetStream cluster. */
function clusterConfig(c: NatsClusterOptions, host: string): string[] {
  return [
    `server_name: ${JSON.stringify(c.serverName)}`,
    `cluster { name: ${JSON.stringify(c.name)}, listen: "${host}:${c.port}", routes: [${c.routes.map((r) => JSON.stringify(r)).join(', ')}]${c.advertise ? `, advertise: ${JSON.stringify(c.advertise)}` : ''} }`,
  ];
}

/** LocalNatsCluster is several local nats-servers routed into one JetStream cluster. */
export interface LocalNatsCluster {
  /** The client URL of each node. */
  urls: string[];
  servers: LocalNatsServer[];
  stop(): Promise<void>;
}

/** freePort asks the OS for a free TCP port on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * startNatsCluster starts `nodes` nats-servers on loopback, each in `<dataDir>/n<i>`, routed into
 * one cluster with JetStream. It resolves once every node accepts clients; JetStream elects its
 * meta leader a few seconds later, so first JetStream calls should retry.
 */
export async function startNatsCluster(
  opts: Omit<NatsServerOptions, 'dataDir' | 'cluster' | 'port'> & {
    dataDir: string;
    nodes: number;
    name?: string;
  },
): Promise<LocalNatsCluster> {
  const host = opts.host ?? '127.0.0.1';
  const routePorts: number[] = [];
  for (let i = 0; i < opts.nodes; i++) routePorts.push(await freePort(host));
  const started = await Promise.allSettled(
    routePorts.map((port, i) =>
      startNatsServer({
        ...opts,
        dataDir: join(opts.dataDir, `n${i}`),
        cluster: {
          serverName: `n${i}`,
          name: opts.name ?? 'mezzo',
          port,
          routes: routePorts.filter((_, j) => j !== i).map((p) => `nats-route://${host}:${p}`),
        },
      }),
    ),
  );
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((s) => s.stop()));
    throw (failed as PromiseRejectedResult).reason;
  }
  return {
    urls: servers.map((s) => s.url),
    servers,
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
