import { connectNats, type Logger, NatsBus, RequestTimeoutError, type TlsFiles } from '../bus/index.js';
import { subjects as makeSubjects, type Subjects } from '../protocol/index.js';
import { type CredsFile, readCreds } from '../security/index.js';
import { type ClusterFile, processAlive, readClusterFile } from './cluster-file.js';
import {
  CLI_DEFAULTS,
  type ConfigEnv,
  type ConfigFlags,
  type ResolvedConfig,
  resolveConfig,
  resolveDataDir,
} from './config.js';
import { CliError } from './errors.js';

/** LoadedConfig is the resolved configuration and the cluster file it may have come from. */
export interface LoadedConfig {
  config: ResolvedConfig;
  clusterFile?: ClusterFile;
}

/** loadConfig reads the environment and `<data>/cluster.json` and resolves the flags against them. */
export function loadConfig(flags: ConfigFlags, env: ConfigEnv = process.env): LoadedConfig {
  const [dataDir] = resolveDataDir({ flags, env, defaults: CLI_DEFAULTS });
  const clusterFile = readClusterFile(dataDir);
  return {
    config: resolveConfig({ flags, env, clusterFile, defaults: CLI_DEFAULTS }),
    ...(clusterFile ? { clusterFile } : {}),
  };
}

/** ClusterConnection is a validated bus to a cluster, its subjects and where they came from. */
export interface ClusterConnection {
  config: ResolvedConfig;
  bus: NatsBus;
  subjects: Subjects;
  /** The credentials the connection was opened with, and so the caller's principal; none on an open cluster. */
  creds?: CredsFile;
  /** The principal's name, which the Operator client sends its calls under. */
  principal?: string;
  /** describe says which cluster this is, for error messages. */
  describe(): string;
  close(): Promise<void>;
}

function staleHint(loaded: LoadedConfig): string {
  const f = loaded.clusterFile;
  if (loaded.config.from.natsUrl !== 'cluster-file' || !f) return '';
  return processAlive(f.pid)
    ? ` (from ${loaded.config.dataDir}/cluster.json)`
    : ` (from ${loaded.config.dataDir}/cluster.json, which is stale: mezzo up pid ${f.pid} is not running)`;
}

/** natsUrlOf returns the NATS URL or explains how to give one. */
export function natsUrlOf(loaded: LoadedConfig): string {
  const url = loaded.config.natsUrl;
  if (url) return url;
  throw new CliError(
    `no cluster found: pass --nats URL, set MEZZO_NATS_URL, or start one with \`mezzo up\` (no ${loaded.config.dataDir}/cluster.json)`,
  );
}

/** credsPathOf finds the credentials file: --creds, then MEZZO_CREDS, then cluster.json's. */
export function credsPathOf(
  flags: ConfigFlags,
  env: ConfigEnv,
  clusterFile?: ClusterFile,
): string | undefined {
  for (const v of [flags.creds, env.MEZZO_CREDS, clusterFile?.creds])
    if (v && v.trim() !== '') return v.trim();
  return undefined;
}

/** loadCreds reads the credentials file a command should connect with, if any. */
export function loadCreds(
  flags: ConfigFlags,
  loaded: LoadedConfig,
  env: ConfigEnv = process.env,
): CredsFile | undefined {
  const path = credsPathOf(flags, env, loaded.clusterFile);
  if (!path) return undefined;
  try {
    return readCreds(path);
  } catch (err) {
    throw new CliError((err as Error).message, 1, { cause: err });
  }
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** tlsOf turns the --tls-* flags into the connection's TLS files; none means plain TCP. */
export function tlsOf(flags: ConfigFlags): TlsFiles | undefined {
  if (!flags.tlsCa && !flags.tlsCert && !flags.tlsKey) return undefined;
  return {
    ...(flags.tlsCa ? { caFile: flags.tlsCa } : {}),
    ...(flags.tlsCert ? { certFile: flags.tlsCert } : {}),
    ...(flags.tlsKey ? { keyFile: flags.tlsKey } : {}),
  };
}

/** connectCluster opens the bus a command talks to the master through, with its credentials. */
export async function connectCluster(
  flags: ConfigFlags,
  name: string,
  log: Logger,
): Promise<ClusterConnection> {
  const loaded = loadConfig(flags);
  const url = natsUrlOf(loaded);
  const creds = loadCreds(flags, loaded);
  const tls = tlsOf({ tlsCa: loaded.clusterFile?.tlsCa, ...withoutUndefined(flags) });
  let bus: NatsBus;
  try {
    bus = new NatsBus(
      await connectNats({
        servers: url,
        name,
        log,
        ...(creds ? { user: creds.user, pass: creds.password } : {}),
        ...(tls ? { tls } : {}),
      }),
      log,
    );
  } catch (err) {
    const hint = /authorization/i.test((err as Error).message)
      ? creds
        ? ` (as ${creds.user}; are these credentials still valid for this cluster?)`
        : ' (the cluster needs credentials: pass --creds FILE or set MEZZO_CREDS)'
      : '';
    throw new CliError(
      `cannot connect to NATS at ${url}${staleHint(loaded)}: ${(err as Error).message}${hint}`,
      1,
      { cause: err },
    );
  }
  const describe = () => `nats=${url} prefix=${loaded.config.prefix}${staleHint(loaded)}`;
  return {
    config: loaded.config,
    bus,
    subjects: makeSubjects(loaded.config.prefix),
    ...(creds ? { creds, principal: creds.principal.name } : {}),
    describe,
    close: () => bus.close(),
  };
}

/** explainMasterError turns "nobody answered" into a message that names the cluster. */
export function explainMasterError(
  err: unknown,
  conn: Pick<ClusterConnection, 'describe'> & { principal?: string },
): unknown {
  // The server refused the publish at once: these credentials may not send that call.
  const denied = /Permissions Violation[^"]*"[^"]*"/.exec(String((err as Error)?.cause ?? ''));
  if (err instanceof RequestTimeoutError && denied) {
    return new CliError(
      `the credentials of ${conn.principal ?? 'this client'} do not allow this call (${denied[0]}); use --creds with a principal that may`,
      1,
      { cause: err },
    );
  }
  if (err instanceof RequestTimeoutError) {
    return new CliError(
      `no master answered (${conn.describe()}); is \`mezzo up\` or \`mezzo master\` running?`,
      1,
      { cause: err },
    );
  }
  return err;
}
