import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { type MasterSecurity, startHaMaster, startMaster } from '../../actors/master/index.js';
import { DEFAULT_LEASE_TTL_MS, leaseTimingFor } from '../../bus/index.js';
import {
  DEFAULT_POLICY,
  DEFAULT_RATE_LIMIT,
  fileDirectory,
  loadPolicy,
  type Policy,
  type RateLimit,
  securityPaths,
} from '../../security/index.js';
import { action, type ExitBox, type Streams } from '../action.js';
import { connectCluster } from '../cluster-connection.js';
import type { ConfigFlags } from '../config.js';
import { CliError, ExitCode } from '../errors.js';
import { cliLogger } from '../logging.js';
import { clusterFlags, withClusterOptions } from '../options.js';
import { onShutdownSignals, Teardown } from '../shutdown.js';

/** MasterFlags are `mezzo master`'s own options (HA). */
export interface MasterFlags extends ConfigFlags {
  ha?: boolean;
  replicas?: number;
  masterId?: string;
  leaseTtl?: number;
  principals?: string;
  policy?: string;
}

/** haSettings resolves the HA options: flags beat MEZZO_HA, MEZZO_REPLICAS, MEZZO_MASTER_ID, MEZZO_LEASE_TTL_MS. */
export function haSettings(flags: MasterFlags, env: NodeJS.ProcessEnv = process.env) {
  const num = (name: string, v: string | number | undefined, min: number): number | undefined => {
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new CliError(`${name} must be an integer of at least ${min}`, ExitCode.USAGE);
    return n;
  };
  const ha = flags.ha ?? /^(1|true|yes)$/i.test(env.MEZZO_HA ?? '');
  const replicas = num('--replicas (MEZZO_REPLICAS)', flags.replicas ?? env.MEZZO_REPLICAS, 1) ?? 1;
  const leaseTtlMs = num('--lease-ttl (MEZZO_LEASE_TTL_MS)', flags.leaseTtl ?? env.MEZZO_LEASE_TTL_MS, 1000);
  const masterId = flags.masterId ?? (env.MEZZO_MASTER_ID || undefined);
  if (masterId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(masterId))
    throw new CliError('--master-id (MEZZO_MASTER_ID) must be 1-64 letters, digits, - or _', ExitCode.USAGE);
  // Timing of agent health and of the re-registration window after a failover (tests, small clusters).
  const heartbeat = num('MEZZO_AGENT_PING_TIMEOUT_S', env.MEZZO_AGENT_PING_TIMEOUT_S, 1);
  const missed = num('MEZZO_MAX_AGENT_PING_TIMEOUTS', env.MEZZO_MAX_AGENT_PING_TIMEOUTS, 1);
  const reregisterTimeoutMs = num('MEZZO_REREGISTER_TIMEOUT_MS', env.MEZZO_REREGISTER_TIMEOUT_MS, 0);
  const config = {
    ...(masterId ? { masterId } : {}),
    ...(heartbeat ? { agentPingTimeoutSeconds: heartbeat } : {}),
    ...(missed ? { maxAgentPingTimeouts: missed } : {}),
  };
  return { ha, replicas, leaseTtlMs, masterId, config, reregisterTimeoutMs };
}

/**
 * masterSecurity decides what the master enforces. Connected with credentials, the bus checks
 * who publishes what, so the master authorizes by subject: it needs the principals file (--principals,
 * MEZZO_PRINCIPALS, or <data>/security/principals.json) and applies --policy. Without credentials
 * the bus is open and subjects prove nothing, so only rate limits apply.
 */
export function masterSecurity(
  flags: MasterFlags,
  dataDir: string,
  withCreds: boolean,
  env: NodeJS.ProcessEnv = process.env,
): { security?: MasterSecurity; rateLimit: RateLimit } {
  let policy: Policy = DEFAULT_POLICY;
  try {
    if (flags.policy) policy = loadPolicy(flags.policy);
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.USAGE, { cause: err });
  }
  if (!withCreds) return { rateLimit: DEFAULT_RATE_LIMIT };
  const path = flags.principals ?? (env.MEZZO_PRINCIPALS || securityPaths(resolve(dataDir)).registry);
  if (!existsSync(path)) {
    throw new CliError(
      `no principals file ${path}: pass --principals (the principals.json of the cluster's credentials)`,
      ExitCode.USAGE,
    );
  }
  try {
    return { security: { directory: fileDirectory(path), policy }, rateLimit: DEFAULT_RATE_LIMIT };
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.USAGE, { cause: err });
  }
}

/** master runs a master in the foreground until SIGINT or SIGTERM. */
export async function master(flags: MasterFlags, streams: Streams): Promise<number> {
  const log = cliLogger('mezzo-master', 'info');
  const shutdown = onShutdownSignals(() => process.exit(ExitCode.INTERRUPTED));
  const teardown = new Teardown(log);
  let stoppedCleanly = false;
  try {
    const conn = await connectCluster(clusterFlags(flags), 'mezzo-master', log);
    teardown.add('connection', () => conn.close());
    const secured = masterSecurity(flags, conn.config.dataDir, !!conn.creds);
    if (!secured.security) {
      log.warn(
        'no credentials: the bus is open, so the master authorizes nothing (use mezzo up, or --creds)',
      );
    }
    const ha = haSettings(flags);
    if (ha.ha) {
      // Highly available: stand by until elected; lead while the lease holds, then stand by again.
      const ttl = ha.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
      const handle = await startHaMaster({
        bus: conn.bus,
        nc: conn.bus.nc,
        subjects: conn.subjects,
        log,
        config: ha.config,
        ...secured,
        leadership: {
          replicas: ha.replicas,
          ...(ha.reregisterTimeoutMs !== undefined ? { reregisterTimeoutMs: ha.reregisterTimeoutMs } : {}),
          lease: leaseTimingFor(ttl),
        },
      });
      teardown.add('master', () => handle.stop());
      streams.stdout.write(
        `mezzo master ${handle.masterId} standing by ${conn.describe()} replicas=${ha.replicas}\n`,
      );
      let reported: number | undefined;
      const watch = setInterval(() => {
        const epoch = handle.leading();
        if (epoch !== reported && epoch !== undefined)
          streams.stdout.write(`mezzo master ${handle.masterId} leading epoch=${epoch}\n`);
        else if (epoch === undefined && reported !== undefined)
          streams.stdout.write(`mezzo master ${handle.masterId} standing by\n`);
        reported = epoch;
      }, 20);
      teardown.add('leadership watch', () => clearInterval(watch));
    } else {
      const handle = await startMaster({
        bus: conn.bus,
        subjects: conn.subjects,
        log,
        config: ha.config,
        ...secured,
      });
      teardown.add('master', () => handle.stop());
      streams.stdout.write(`mezzo master ${handle.masterId} ready ${conn.describe()}\n`);
    }
    log.info({ reason: await shutdown.requested }, 'stopping the master');
  } finally {
    stoppedCleanly = await teardown.run();
    shutdown.dispose();
  }
  return stoppedCleanly ? ExitCode.OK : ExitCode.FAILURE;
}

/** masterCommand is `mezzo master`. */
export function masterCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('master')
      .summary('run a master in the foreground')
      .description(
        'Run a master in the foreground, on the NATS server named by --nats (or MEZZO_NATS_URL, or cluster.json). ' +
          'With --ha (MEZZO_HA=1) it contends for leadership with the other masters of the cluster through a lease in ' +
          'JetStream and leads only while it holds it; run three, on a three-node NATS cluster with --replicas 3.',
      )
      .option('--ha', 'elect a leader among several masters (env MEZZO_HA=1)')
      .option(
        '--principals <file>',
        'the principals file of the cluster (env MEZZO_PRINCIPALS; default <data>/security/principals.json)',
      )
      .option('--policy <file>', 'authorization policy (JSON; see security/README.md)')
      .option(
        '--replicas <n>',
        'JetStream replicas of the lease and the registry (env MEZZO_REPLICAS; default 1)',
      )
      .option('--master-id <id>', "this master's id (env MEZZO_MASTER_ID; default: a fresh one)")
      .option('--lease-ttl <ms>', "the leader lease's time to live (env MEZZO_LEASE_TTL_MS; default 5000)"),
  ).action(action(box, streams, (opts: MasterFlags) => master(opts, streams)));
}
