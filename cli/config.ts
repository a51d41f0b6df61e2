import { DEFAULT_PREFIX } from '../protocol/index.js';

/** ConfigFlags are the cluster flags every command takes. */
export interface ConfigFlags {
  nats?: string;
  data?: string;
  prefix?: string;
  /** A credentials file (see security/); beats MEZZO_CREDS and cluster.json's. */
  creds?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** ConfigEnv is the part of the environment the CLI reads. */
export interface ConfigEnv {
  MEZZO_NATS_URL?: string;
  MEZZO_DATA?: string;
  MEZZO_PREFIX?: string;
  MEZZO_CREDS?: string;
}

/** ClusterFileConfig is what `<data>/cluster.json` contributes (written by `mezzo up`). */
export interface ClusterFileConfig {
  natsUrl?: string;
  prefix?: string;
}

/** ConfigDefaults are used when nothing else says. */
export interface ConfigDefaults {
  dataDir: string;
  prefix: string;
  natsUrl?: string;
}

/** CLI_DEFAULTS: data in `.mezzo`, subjects under `mezzo.v1`, no NATS URL (start or find a cluster). */
export const CLI_DEFAULTS: ConfigDefaults = { dataDir: '.mezzo', prefix: DEFAULT_PREFIX };

/** ConfigSource says where a setting came from, for messages such as "nats (from cluster.json)". */
export type ConfigSource = 'flag' | 'env' | 'cluster-file' | 'default';

/** ResolvedConfig is where the CLI finds its cluster. */
export interface ResolvedConfig {
  dataDir: string;
  prefix: string;
  natsUrl?: string;
  from: { dataDir: ConfigSource; prefix: ConfigSource; natsUrl?: ConfigSource };
}

/** ResolveInput is everything config resolution looks at. */
export interface ResolveInput {
  flags: ConfigFlags;
  env: ConfigEnv;
  clusterFile?: ClusterFileConfig;
  defaults: ConfigDefaults;
}

// Empty strings (MEZZO_NATS_URL= ) count as unset, so a caller can blank a variable out.
const given = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

function pick(candidates: [string | undefined, ConfigSource][]): [string, ConfigSource] | undefined {
  for (const [value, source] of candidates) if (given(value)) return [value.trim(), source];
  return undefined;
}

/**
 * resolveDataDir finds the data dir first, since the cluster file lives in it: flag, then
 * MEZZO_DATA, then the default.
 */
export function resolveDataDir(input: Omit<ResolveInput, 'clusterFile'>): [string, ConfigSource] {
  return (
    pick([
      [input.flags.data, 'flag'],
      [input.env.MEZZO_DATA, 'env'],
    ]) ?? [input.defaults.dataDir, 'default']
  );
}

/**
 * resolveConfig decides each setting by precedence: flags beat the environment (`MEZZO_NATS_URL`,
 * `MEZZO_DATA`, `MEZZO_PREFIX`), which beats `<data>/cluster.json`, which beats the defaults.
 */
export function resolveConfig(input: ResolveInput): ResolvedConfig {
  const { flags, env, clusterFile, defaults } = input;
  const [dataDir, dataFrom] = resolveDataDir(input);
  const [prefix, prefixFrom] = pick([
    [flags.prefix, 'flag'],
    [env.MEZZO_PREFIX, 'env'],
    [clusterFile?.prefix, 'cluster-file'],
  ]) ?? [defaults.prefix, 'default'];
  const nats = pick([
    [flags.nats, 'flag'],
    [env.MEZZO_NATS_URL, 'env'],
    [clusterFile?.natsUrl, 'cluster-file'],
    [defaults.natsUrl, 'default'],
  ]);
  return {
    dataDir,
    prefix,
    ...(nats ? { natsUrl: nats[0] } : {}),
    from: { dataDir: dataFrom, prefix: prefixFrom, ...(nats ? { natsUrl: nats[1] } : {}) },
  };
}
