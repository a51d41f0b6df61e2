import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { loadIdentity, metaPath, RecoverMode, readBootId, startAgent } from '../../actors/agent/index.js';
import { withCredentials } from '../../bus/index.js';
import { ALL_ISOLATORS } from '../../isolation/index.js';
import { resources as R } from '../../protocol/index.js';
import { type CredsFile, PrincipalKind } from '../../security/index.js';
import { action, type ExitBox, type Streams } from '../action.js';
import { connectCluster } from '../cluster-connection.js';
import type { ConfigFlags } from '../config.js';
import { CliError, ExitCode } from '../errors.js';
import { cliLogger } from '../logging.js';
import { clusterFlags, withClusterOptions } from '../options.js';
import { onShutdownSignals, Teardown } from '../shutdown.js';

/** AgentFlags are `mezzo agent`'s options. */
export interface AgentFlags extends ConfigFlags {
  resources?: string;
  attributes?: string;
  workDir?: string;
  hostname?: string;
  isolation?: string;
  cgroupsEnableCfs?: boolean;
  dockerSocket?: string;
  recover?: string;
  recoveryTimeout?: string;
  executorReregistrationTimeout?: string;
}

/** parseRecover reads `--recover reconnect|cleanup` and refuses anything else. */
export function parseRecover(text: string): RecoverMode {
  const modes = Object.values(RecoverMode) as string[];
  if (!modes.includes(text))
    throw new CliError(
      `--recover must be one of ${modes.join(', ')}; got ${JSON.stringify(text)}`,
      ExitCode.USAGE,
    );
  return text as RecoverMode;
}

/** parseSeconds reads a flag's whole number of seconds within [1, max] as milliseconds. */
function parseSeconds(flag: string, text: string, max: number): number {
  const seconds = /^[0-9]{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds >= 1 && seconds <= max))
    throw new CliError(
      `${flag} must be a whole number of seconds from 1 to ${max}; got ${JSON.stringify(text)}`,
      ExitCode.USAGE,
    );
  return seconds * 1000;
}

/** parseRecoveryTimeout reads `--recovery-timeout <seconds>` (1 s to 7 days) as milliseconds. */
export function parseRecoveryTimeout(text: string): number {
  return parseSeconds('--recovery-timeout', text, 7 * 24 * 3600);
}

/** parseReregistrationTimeout reads `--executor-reregistration-timeout <seconds>` (1 s to 1 h) as milliseconds. */
export function parseReregistrationTimeout(text: string): number {
  return parseSeconds('--executor-reregistration-timeout', text, 3600);
}

/** parseIsolation reads `--isolation posix,cgroups/mem` and refuses names it does not know. */
export function parseIsolation(text: string): string[] {
  const names = text
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(ALL_ISOLATORS as readonly string[]).includes(n));
  if (unknown.length) {
    throw new CliError(
      `unknown isolator ${unknown.join(', ')}; known: ${ALL_ISOLATORS.join(', ')}`,
      ExitCode.USAGE,
    );
  }
  return names;
}

/**
 * bindIdentity makes the agent speak as the agent id its credentials name (NATS lets it publish
 * only as that one): a fresh work dir takes that id; one that holds another agent is refused.
 */
export function bindIdentity(workDir: string, creds: CredsFile): void {
  const p = creds.principal;
  if (p.kind !== PrincipalKind.AGENT) {
    throw new CliError(`credentials of ${p.kind} ${p.name} cannot run an agent`, ExitCode.USAGE);
  }
  const file = metaPath(workDir);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ agentId: p.agentId, bootId: readBootId() })}\n`);
  }
  const { agentId } = loadIdentity(workDir);
  if (agentId !== p.agentId) {
    throw new CliError(
      `the credentials of ${p.name} are for agent ${p.agentId}, but ${workDir} holds agent ${agentId}: ` +
        `use a fresh --work-dir, or credentials issued with --agent-id ${agentId}`,
      ExitCode.USAGE,
    );
  }
}

/** agent runs one agent in the foreground until SIGINT or SIGTERM, then kills its tasks and stops. */
export async function agent(flags: AgentFlags, streams: Streams): Promise<number> {
  const isolation = flags.isolation ? parseIsolation(flags.isolation) : undefined;
  const recover = flags.recover !== undefined ? parseRecover(flags.recover) : undefined;
  const recoveryTimeoutMs =
    flags.recoveryTimeout !== undefined ? parseRecoveryTimeout(flags.recoveryTimeout) : undefined;
  const reregistrationMs =
    flags.executorReregistrationTimeout !== undefined
      ? parseReregistrationTimeout(flags.executorReregistrationTimeout)
      : undefined;
  try {
    if (flags.resources) R.parseResources(flags.resources);
    if (flags.attributes) R.parseAttributes(flags.attributes);
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.USAGE);
  }
  const log = cliLogger('mezzo-agent', 'info');
  const shutdown = onShutdownSignals(() => process.exit(ExitCode.INTERRUPTED));
  const teardown = new Teardown(log);
  let stoppedCleanly = false;
  try {
    const conn = await connectCluster(clusterFlags(flags), 'mezzo-agent', log);
    teardown.add('connection', () => conn.close());
    const workDir = resolve(flags.workDir ?? join(conn.config.dataDir, 'agent'));
    mkdirSync(workDir, { recursive: true });
    if (conn.creds) bindIdentity(workDir, conn.creds);
    const handle = await startAgent({
      bus: conn.bus,
      subjects: conn.subjects,
      log,
      config: {
        workDir,
        // Executors connect as their agent: the URL they are handed carries its credentials.
        natsUrl: conn.creds
          ? withCredentials(conn.config.natsUrl as string, conn.creds.user, conn.creds.password)
          : (conn.config.natsUrl as string),
        ...(flags.resources ? { resources: flags.resources } : {}),
        ...(flags.attributes ? { attributes: flags.attributes } : {}),
        ...(flags.hostname ? { hostname: flags.hostname } : {}),
        ...(isolation ? { isolation } : {}),
        ...(flags.cgroupsEnableCfs ? { cgroupsEnableCfs: true } : {}),
        ...(flags.dockerSocket ? { dockerSocket: resolve(flags.dockerSocket) } : {}),
        ...(recover ? { recover } : {}),
        ...(recoveryTimeoutMs !== undefined ? { recoveryTimeoutMs } : {}),
        ...(reregistrationMs !== undefined ? { executorReregistrationTimeoutMs: reregistrationMs } : {}),
      },
    });
    teardown.add('agent', () => handle.stop(), 60_000);
    void handle.registered().then(
      () => streams.stdout.write(`mezzo agent ${handle.agentId} registered ${conn.describe()}\n`),
      () => {},
    );
    log.info({ reason: await shutdown.requested }, 'stopping the agent');
  } finally {
    stoppedCleanly = await teardown.run();
    shutdown.dispose();
  }
  return stoppedCleanly ? ExitCode.OK : ExitCode.FAILURE;
}

/** agentCommand is `mezzo agent`. */
export function agentCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('agent')
      .summary('run an agent in the foreground')
      .description(
        'Run an agent in the foreground. It registers with the master, runs the tasks it is given and, on ' +
          'Ctrl-C or SIGTERM, kills them and stops. Resources not named in --resources are detected.',
      )
      .option('--resources <resources>', "e.g. 'cpus:8;mem:16384;disk:40000;ports:[31000-32000]'")
      .option('--attributes <attributes>', "e.g. 'rack:a;zone:west'")
      .option('--work-dir <dir>', 'where sandboxes and the agent id live (default <data>/agent)')
      .option('--hostname <name>', 'hostname to advertise (default: this machine)')
      .option(
        '--isolation <isolators>',
        `comma-separated isolators (${ALL_ISOLATORS.join(', ')}); default: what this host supports`,
      )
      .option('--cgroups-enable-cfs', 'hard-cap each task at its cpus with a CFS quota')
      .option(
        '--docker-socket <path>',
        'the Docker engine socket for DOCKER tasks (default /var/run/docker.sock; docker is off if it does not answer)',
      )
      .option(
        '--recover <mode>',
        'reconnect: take back the live executors of checkpointing frameworks (others are killed); cleanup: kill every executor of the previous run and start with no task',
        'reconnect',
      )
      .option(
        '--recovery-timeout <seconds>',
        "how long a checkpointing framework's executor waits for a restarting agent (default 900)",
      )
      .option(
        '--executor-reregistration-timeout <seconds>',
        'how long an executor taken back after a restart has to register again before it is killed (default 10)',
      ),
  ).action(action(box, streams, (opts: AgentFlags) => agent(opts, streams)));
}
