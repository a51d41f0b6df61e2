import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { newAgentId } from '../../actors/agent/index.js';
import { reloadNatsServer, writeNatsAuthorization } from '../../bus/index.js';
import {
  CredentialsError,
  issueCredentials,
  loadOrCreateRegistry,
  Principal,
  type PrincipalInput,
  type Registry,
  renderAuthorization,
  securityPaths,
} from '../../security/index.js';
import { action, type ExitBox, type Streams } from '../action.js';
import { loadConfig } from '../cluster-connection.js';
import { processAlive, readClusterFile } from '../cluster-file.js';
import { CLI_DEFAULTS, type ConfigFlags } from '../config.js';
import { CliError, ExitCode } from '../errors.js';
import { withClusterOptions } from '../options.js';

/** CredsAddFlags are `mezzo creds add`'s options. */
export interface CredsAddFlags extends ConfigFlags {
  roles?: string;
  frameworkIds?: string;
  readonly?: boolean;
  superuser?: boolean;
  agentId?: string;
}

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * principalFrom builds the principal `mezzo creds add KIND NAME` asks for, and refuses incomplete
 * or contradictory flags: a framework names its roles, and is bound to the framework ids given
 * (default: its own name); an agent is bound to one agent id (default: a fresh one).
 */
export function principalFrom(kind: string, name: string, flags: CredsAddFlags): Principal {
  let input: PrincipalInput;
  switch (kind) {
    case 'framework': {
      const roles = list(flags.roles);
      if (!roles.length)
        throw new CliError('a framework needs --roles (the roles it may use)', ExitCode.USAGE);
      const ids = list(flags.frameworkIds);
      input = { kind, name, roles, frameworkIds: ids.length ? ids : [name] };
      break;
    }
    case 'operator':
      input = { kind, name, readonly: !!flags.readonly, superuser: !!flags.superuser };
      if (flags.readonly && flags.superuser) {
        throw new CliError('an operator cannot be both --readonly and --superuser', ExitCode.USAGE);
      }
      break;
    case 'agent':
      input = { kind, name, agentId: flags.agentId ?? newAgentId() };
      break;
    case 'master':
      input = { kind, name };
      break;
    default:
      throw new CliError(`unknown kind "${kind}": framework, operator, agent or master`, ExitCode.USAGE);
  }
  const parsed = Principal.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || kind}: ${i.message}`).join('; ');
    throw new CliError(`invalid ${kind} ${name}: ${issues}`, ExitCode.USAGE);
  }
  return parsed.data;
}

/** nodeDirs lists the per-node config directories of a local nats-server cluster. */
function nodeDirs(natsDir: string): string[] {
  try {
    return readdirSync(natsDir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && /^n\d+$/.test(e.name))
      .map((e) => join(natsDir, e.name));
  } catch {
    return [];
  }
}

/**
 * reloadLocalServer points the nats-server `mezzo up` runs at the new users and asks it to reload;
 * it says so, or why not (no running cluster in this data dir: the users apply at the next start).
 */
function reloadLocalServer(dataDir: string, registry: Registry): string {
  const file = readClusterFile(dataDir);
  if (!file?.natsPid || !file.natsDir || !processAlive(file.natsPid)) {
    return 'no running nats-server of `mezzo up` here; the credentials apply when the cluster starts';
  }
  const authorization = renderAuthorization(registry.principals, registry.prefix);
  // One server keeps its config in natsDir; the nodes of a cluster each in natsDir/n<i>.
  const dirs = [file.natsDir, ...nodeDirs(file.natsDir)];
  for (const dir of dirs) if (existsSync(join(dir, 'nats.conf'))) writeNatsAuthorization(dir, authorization);
  const pids = [...new Set([file.natsPid, ...(file.natsPids ?? [])])].filter(processAlive);
  for (const pid of pids) reloadNatsServer(pid);
  return `nats-server (pid ${pids.join(', ')}) reloaded`;
}

/** credsAdd issues one principal's credentials into `<data>/security/` and reloads a local server. */
export async function credsAdd(
  kind: string,
  name: string,
  flags: CredsAddFlags,
  streams: Streams,
): Promise<number> {
  const { config } = loadConfig(flags);
  const dataDir = resolve(config.dataDir);
  const principal = principalFrom(kind, name, flags);
  const paths = securityPaths(dataDir);
  let registry: Registry;
  try {
    registry = issueCredentials(paths, loadOrCreateRegistry(paths, config.prefix), principal);
  } catch (err) {
    if (err instanceof CredentialsError) throw new CliError(err.message, ExitCode.USAGE, { cause: err });
    throw err;
  }
  streams.stdout.write(`${paths.creds(name)}\n`);
  streams.stderr.write(`mezzo: issued ${kind} ${name}; ${reloadLocalServer(dataDir, registry)}\n`);
  return ExitCode.OK;
}

/** credsNatsConfig prints the `authorization` block for a nats-server Mezzo does not spawn. */
export async function credsNatsConfig(flags: ConfigFlags, streams: Streams): Promise<number> {
  const dataDir = resolve(flags.data ?? process.env.MEZZO_DATA ?? CLI_DEFAULTS.dataDir);
  const paths = securityPaths(dataDir);
  let registry: Registry;
  try {
    registry = loadOrCreateRegistry(paths, flags.prefix ?? CLI_DEFAULTS.prefix);
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.FAILURE, { cause: err });
  }
  streams.stdout.write(renderAuthorization(registry.principals, registry.prefix));
  return ExitCode.OK;
}

/** credsCommand is `mezzo creds`: issue credentials for principals of a cluster. */
export function credsCommand(box: ExitBox, streams: Streams): Command {
  const creds = new Command('creds').summary('issue credentials for frameworks, operators and agents');
  creds.addCommand(
    withClusterOptions(
      new Command('add')
        .argument('<kind>', 'framework, operator, agent or master')
        .argument('<name>', 'the principal (its NATS user name)')
        .description(
          'Issue credentials into <data>/security/creds/<name>.json (mode 0600) and print that path. A running ' +
            'nats-server of `mezzo up` is reloaded so that they work at once.',
        )
        .option('--roles <roles>', 'framework: the roles it may register in, comma-separated')
        .option('--framework-ids <ids>', 'framework: the framework ids it may use (default: its name)')
        .option('--readonly', 'operator: read calls only')
        .option('--superuser', 'operator: every action, and may act as any framework (mezzo run)')
        .option('--agent-id <id>', 'agent: the agent id it speaks as (default: a fresh one)'),
    ).action(
      action(box, streams, (kind: string, name: string, opts: CredsAddFlags) =>
        credsAdd(kind, name, opts, streams),
      ),
    ),
  );
  creds.addCommand(
    withClusterOptions(
      new Command('nats-config').description(
        "Print nats-server's authorization block for every principal, to include in a server Mezzo does not spawn.",
      ),
    ).action(action(box, streams, (opts: ConfigFlags) => credsNatsConfig(opts, streams))),
  );
  return creds;
}
