import { type Command, InvalidArgumentError } from 'commander';
import type { ConfigFlags } from './config.js';

/** withClusterOptions adds --nats, --data and --prefix, which every command resolves the same way. */
export function withClusterOptions(cmd: Command): Command {
  return cmd
    .option('--nats <url>', 'NATS server URL (env MEZZO_NATS_URL; default: from <data>/cluster.json)')
    .option('--data <dir>', 'data directory (env MEZZO_DATA; default .mezzo)')
    .option('--prefix <prefix>', 'subject prefix of the cluster (env MEZZO_PREFIX; default mezzo.v1)')
    .option(
      '--creds <file>',
      'credentials file to connect with (env MEZZO_CREDS; default: from <data>/cluster.json)',
    )
    .option('--tls-ca <file>', 'connect to NATS over TLS, trusting this CA (PEM)')
    .option('--tls-cert <file>', 'client certificate (PEM) for NATS over TLS')
    .option('--tls-key <file>', 'key of the client certificate (PEM)');
}

/** clusterFlags picks the cluster flags out of a command's options. */
export function clusterFlags(opts: ConfigFlags): ConfigFlags {
  return {
    nats: opts.nats,
    data: opts.data,
    prefix: opts.prefix,
    creds: opts.creds,
    tlsCa: opts.tlsCa,
    tlsCert: opts.tlsCert,
    tlsKey: opts.tlsKey,
  };
}

/** nonNegativeNumber parses a numeric option (`--cpus 0.5`). */
export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('expected a non-negative number');
  return n;
}

/** positiveInteger parses a count (`--agents 3`). */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** collect gathers a repeatable option (`--env A=1 --env B=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
