import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import {
  type AgentHandle,
  loadIdentity,
  localAgentResources,
  readMachineFacts,
  startAgent,
} from '../../actors/agent/index.js';
import { startMaster } from '../../actors/master/index.js';
import {
  connectNats,
  type Logger,
  NatsBus,
  startNatsServer,
  type TlsFiles,
  withCredentials,
} from '../../bus/index.js';
import { startBuiltIns } from '../../frameworks/apps/built-ins.js';
import { subjects as makeSubjects, resources as R } from '../../protocol/index.js';
import {
  bootstrapCredentials,
  type ClusterCredentials,
  type CredsFile,
  DEFAULT_POLICY,
  DEFAULT_RATE_LIMIT,
  fileDirectory,
  loadPolicy,
  type Policy,
} from '../../security/index.js';
import { action, type ExitBox, type Streams } from '../action.js';
import { processAlive, readClusterFile, removeClusterFile, writeClusterFile } from '../cluster-file.js';
import { CLI_DEFAULTS, type ConfigFlags, resolveConfig } from '../config.js';
import { CliError, ExitCode } from '../errors.js';
import { cliLogger } from '../logging.js';
import { positiveInteger, withClusterOptions } from '../options.js';
import { onShutdownSignals, Teardown, watchParent, withTimeout } from '../shutdown.js';
import { HA_NATS_NODES, startLocalMasters, startLocalNatsCluster } from './up-masters.js';

/** UpFlags are `mezzo up`'s options. */
export interface UpFlags extends ConfigFlags {
  agents: number;
  /** More than one runs highly available masters on a three-node NATS cluster. */
  masters?: number;
  resources?: string;
  exitWithParent?: boolean;
  /** Run nats-server without credentials (anyone on the network may act as anything). */
  insecure?: boolean;
  /** The master's authorization policy (JSON); default: see security/authorize.ts. */
  policy?: string;
}

const REGISTER_TIMEOUT_MS = 30_000;

/** Interrupted ends start-up early when a stop was requested meanwhile. */
class Interrupted extends Error {
  override name = 'Interrupted';
}

/** busFor opens one validated NATS connection of a component, as its principal when it has one. */
async function busFor(
  url: string,
  name: string,
  log: Logger,
  creds?: CredsFile,
  tls?: TlsFiles,
): Promise<NatsBus> {
  const auth = creds ? { user: creds.user, pass: creds.password } : {};
  return new NatsBus(await connectNats({ servers: url, name, log, ...auth, ...(tls ? { tls } : {}) }), log);
}

/** mkdirp creates a directory (and its parents) and returns it. */
function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * up runs a whole local cluster in this process: nats-server (unless --nats names one), a master
 * and N agents, each with its own connection. It prints one ready line once every agent has
 * registered and stops everything, leaving no process behind, on SIGINT or SIGTERM.
 */
export async function up(flags: UpFlags, streams: Streams): Promise<number> {
  const log = cliLogger('mezzo-up', 'info');
  // cluster.json is what `up` writes, so it never reads one: flags, env, defaults.
  const config = resolveConfig({ flags, env: process.env, defaults: CLI_DEFAULTS });
  const dataDir = resolve(config.dataDir);
  if (flags.resources) {
    try {
      R.parseResources(flags.resources);
    } catch (err) {
      throw new CliError(`--resources: ${(err as Error).message}`, ExitCode.USAGE);
    }
  }
  let policy: Policy = DEFAULT_POLICY;
  try {
    if (flags.policy) policy = loadPolicy(flags.policy);
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.USAGE);
  }
  mkdirSync(dataDir, { recursive: true });
  const running = readClusterFile(dataDir);
  if (running && running.pid !== process.pid && processAlive(running.pid)) {
    throw new CliError(
      `a cluster already runs from ${dataDir} (pid ${running.pid}, nats ${running.natsUrl}); stop it or use --data`,
    );
  }

  const teardown = new Teardown(log);
  const forceKills: (() => void)[] = [];
  const shutdown = onShutdownSignals((signal) => {
    log.warn({ signal }, 'second signal: stopping at once; tasks may be left running');
    for (const kill of forceKills) kill();
    process.exit(ExitCode.INTERRUPTED);
  });
  const unwatchParent = flags.exitWithParent ? watchParent(shutdown) : () => {};
  const checkpoint = () => {
    if (shutdown.isRequested) throw new Interrupted();
  };
  let exitCode: number = ExitCode.OK;
  try {
    let natsUrl = config.natsUrl;
    // TLS: the server presents --tls-cert/--tls-key; components trust --tls-ca. Executors are
    // separate node processes: NODE_EXTRA_CA_CERTS makes them trust it too.
    const serverTls =
      flags.tlsCert && flags.tlsKey
        ? { certFile: resolve(flags.tlsCert), keyFile: resolve(flags.tlsKey) }
        : undefined;
    const clientTls = flags.tlsCa ? { caFile: resolve(flags.tlsCa) } : undefined;
    if (clientTls) process.env.NODE_EXTRA_CA_CERTS = clientTls.caFile;
    let security: ClusterCredentials | undefined;
    let natsServer: { pid: number; dir: string; pids?: number[] } | undefined;
    if (!natsUrl) {
      // Secure by default: every component gets its own principal, and anonymous clients are refused.
      if (!flags.insecure) {
        const agentIds = Array.from(
          { length: flags.agents },
          (_, i) => loadIdentity(mkdirp(join(dataDir, 'agents', String(i)))).agentId,
        );
        security = bootstrapCredentials(dataDir, config.prefix, agentIds);
      }
      const natsDir = join(dataDir, 'nats');
      if ((flags.masters ?? 1) > 1) {
        const cluster = await startLocalNatsCluster(
          natsDir,
          security?.authorization ?? false,
          log,
          teardown,
          forceKills,
          () => {
            exitCode = ExitCode.FAILURE;
            shutdown.request('every nats-server exited');
          },
        );
        natsUrl = cluster.urls.join(',');
        natsServer = { pid: cluster.servers[0].pid, dir: natsDir, pids: cluster.servers.map((s) => s.pid) };
      }
    }
    if (!natsUrl) {
      const natsDir = join(dataDir, 'nats');
      const server = await startNatsServer({
        dataDir: natsDir,
        authorization: security?.authorization ?? false,
        ...(serverTls ? { tls: serverTls } : {}),
      });
      natsUrl = server.url;
      natsServer = { pid: server.pid, dir: natsDir };
      forceKills.push(() => server.process.kill('SIGKILL'));
      let stopping = false;
      teardown.add('nats-server', () => {
        stopping = true;
        return server.stop();
      });
      server.process.once('exit', (code, signal) => {
        if (stopping) return;
        log.error({ code, signal }, 'nats-server exited unexpectedly; stopping the cluster');
        exitCode = ExitCode.FAILURE;
        shutdown.request('nats-server exited');
      });
      log.info({ url: natsUrl, pid: server.pid }, 'nats-server started');
    }
    checkpoint();
    const subjects = makeSubjects(config.prefix);

    const masterOptions = {
      subjects,
      log,
      rateLimit: DEFAULT_RATE_LIMIT,
      ...(security ? { security: { directory: fileDirectory(security.paths.registry), policy } } : {}),
    };
    if ((flags.masters ?? 1) > 1) {
      // Highly available: the masters elect a leader through a lease replicated on the NATS nodes.
      const replicas = natsServer ? HA_NATS_NODES : 1;
      const connect = (name: string) => busFor(natsUrl as string, name, log, security?.master, clientTls);
      await startLocalMasters(flags.masters as number, replicas, connect, masterOptions, teardown);
    } else {
      const masterBus = await busFor(natsUrl, 'mezzo-master', log, security?.master, clientTls);
      teardown.add('master connection', () => masterBus.close());
      const master = await startMaster({ bus: masterBus, ...masterOptions });
      teardown.add('master', () => master.stop());
    }
    checkpoint();

    const agents: { handle: AgentHandle; bus: NatsBus; workDir: string }[] = [];
    teardown.add('agents', () =>
      Promise.all(
        agents.map(async (a) => {
          await a.handle.stop();
          await a.bus.close();
        }),
      ),
    );
    for (let i = 0; i < flags.agents; i++) {
      const workDir = join(dataDir, 'agents', String(i));
      mkdirSync(workDir, { recursive: true });
      const resources = flags.resources ?? localAgentResources(readMachineFacts(workDir), flags.agents, i);
      const agentCreds = security?.agents[i];
      const bus = await busFor(natsUrl, `mezzo-agent-${i}`, log, agentCreds, clientTls);
      try {
        const handle = await startAgent({
          bus,
          subjects,
          log: log.child({ agent: i }),
          // Executors connect as their agent: the URL they are handed carries its credentials.
          config: {
            workDir,
            resources,
            natsUrl: agentCreds ? withCredentials(natsUrl, agentCreds.user, agentCreds.password) : natsUrl,
          },
        });
        agents.push({ handle, bus, workDir });
      } catch (err) {
        await bus.close().catch(() => {});
        throw err;
      }
      checkpoint();
    }
    await Promise.race([
      withTimeout(
        Promise.all(agents.map((a) => a.handle.registered())),
        REGISTER_TIMEOUT_MS,
        `the agents did not all register within ${REGISTER_TIMEOUT_MS / 1000} s`,
      ),
      shutdown.requested,
    ]);
    checkpoint();

    // The built-in services, jobs and cron frameworks, as trusted components of this cluster.
    const builtIns = await startBuiltIns({
      connect: (name) => busFor(natsUrl as string, name, log, security?.master, clientTls),
      prefix: config.prefix,
      log,
      // On the clustered nats-servers of --masters N, their state and leases are replicated too.
      ...((flags.masters ?? 1) > 1 && natsServer ? { replicas: HA_NATS_NODES } : {}),
    });
    teardown.add('frameworks', () => builtIns.stop());
    checkpoint();

    writeClusterFile(dataDir, {
      natsUrl,
      prefix: config.prefix,
      pid: process.pid,
      startedAt: Date.now(),
      agents: agents.map((a) => ({ id: a.handle.agentId, workDir: a.workDir })),
      ...(security ? { creds: security.paths.creds(security.admin.user) } : {}),
      ...(natsServer ? { natsPid: natsServer.pid, natsDir: natsServer.dir } : {}),
      ...(natsServer?.pids ? { natsPids: natsServer.pids } : {}),
      ...(clientTls ? { tlsCa: clientTls.caFile } : {}),
    });
    teardown.add('cluster.json', () => removeClusterFile(dataDir));
    const mastersNote = (flags.masters ?? 1) > 1 ? ` masters=${flags.masters}` : '';
    streams.stdout.write(`mezzo ready nats=${natsUrl} agents=${agents.length}${mastersNote}\n`);

    const reason = await shutdown.requested;
    log.info({ reason }, 'stopping the cluster');
  } catch (err) {
    if (!(err instanceof Interrupted)) {
      exitCode = err instanceof CliError ? err.exitCode : ExitCode.FAILURE;
      streams.stderr.write(`mezzo up: ${(err as Error).message}\n`);
    }
  } finally {
    if (!(await teardown.run())) exitCode = exitCode || ExitCode.FAILURE;
    shutdown.dispose();
    unwatchParent();
  }
  return exitCode;
}

/** upCommand is `mezzo up`. */
export function upCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('up')
      .summary('run a local cluster in the foreground')
      .description(
        'Run a local cluster in the foreground: nats-server (unless --nats names one), a master and N agents sharing ' +
          'this machine. Prints "mezzo ready nats=<url> agents=<n>" once every agent has registered, and writes ' +
          '<data>/cluster.json so that other commands find the cluster. Ctrl-C (or SIGTERM) stops it all, tasks ' +
          'included; a second signal stops at once.',
      )
      .option('--agents <n>', 'how many agents to start', positiveInteger, 2)
      .option(
        '--masters <n>',
        'how many masters; more than one runs them highly available, electing a leader, on three clustered nats-servers',
        positiveInteger,
        1,
      )
      .option(
        '--insecure',
        'run nats-server without credentials: anyone who reaches it may act as any component (tests, demos)',
      )
      .option('--policy <file>', "the master's authorization policy (JSON; see security/README.md)")
      .option(
        '--exit-with-parent',
        'stop everything when the process that started this one exits (npm start uses it)',
      )
      .option(
        '--resources <resources>',
        "each agent's resources, e.g. 'cpus:2;mem:2048;ports:[31000-31100]' (default: a 1/N share of this machine)",
      ),
  ).action(action(box, streams, (opts: UpFlags) => up(opts, streams)));
}
