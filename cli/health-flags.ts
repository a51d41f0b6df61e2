import { HealthCheck, type HealthCheckInput } from '../protocol/index.js';
import { CliError, ExitCode } from './errors.js';

/** HealthFlags are `mezzo run`'s health check options, as commander parses them. */
export interface HealthFlags {
  /** A shell command line that exits 0 while the task is healthy. */
  healthCmd?: string;
  /** `PORT[/path]`: GET http://127.0.0.1:PORT/path answers 2xx or 3xx while the task is healthy. */
  healthHttp?: string;
  /** `PORT`: 127.0.0.1:PORT accepts connections while the task is healthy. */
  healthTcp?: string;
  healthDelay?: number;
  healthInterval?: number;
  healthTimeout?: number;
  healthGrace?: number;
  /** Consecutive failures that kill the task; 0 never kills. */
  healthFailures?: number;
}

/** portOf reads a port number of a health flag. */
function portOf(flag: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535)
    throw new CliError(`${flag} ${value}: expected a port between 1 and 65535`, ExitCode.USAGE);
  return port;
}

/** httpTarget reads `PORT[/path]` (the path defaults to `/`). */
function httpTarget(value: string): { port: number; path: string } {
  const slash = value.indexOf('/');
  const port = portOf('--health-http', slash < 0 ? value : value.slice(0, slash));
  return { port, path: slash < 0 ? '/' : value.slice(slash) };
}

/**
 * healthCheckFor turns `mezzo run`'s health flags into the task's health check: one of
 * `--health-cmd`, `--health-http PORT[/path]` or `--health-tcp PORT`, with the timings of the
 * other flags (Mesos defaults where absent). No check flag and no timing flag: no health check.
 */
export function healthCheckFor(flags: HealthFlags): HealthCheck | undefined {
  const kinds = [
    flags.healthCmd !== undefined && '--health-cmd',
    flags.healthHttp !== undefined && '--health-http',
    flags.healthTcp !== undefined && '--health-tcp',
  ].filter((k): k is string => !!k);
  const timings = {
    delaySeconds: flags.healthDelay,
    intervalSeconds: flags.healthInterval,
    timeoutSeconds: flags.healthTimeout,
    gracePeriodSeconds: flags.healthGrace,
    consecutiveFailures: flags.healthFailures,
  };
  const timed = Object.values(timings).some((v) => v !== undefined);
  if (kinds.length === 0) {
    if (timed)
      throw new CliError(
        'health check timings need a check: --health-cmd, --health-http or --health-tcp',
        ExitCode.USAGE,
      );
    return undefined;
  }
  if (kinds.length > 1)
    throw new CliError(`give one health check, not ${kinds.join(' and ')}`, ExitCode.USAGE);
  const defined = Object.fromEntries(Object.entries(timings).filter(([, v]) => v !== undefined));
  const input: HealthCheckInput =
    flags.healthCmd !== undefined
      ? { type: 'COMMAND', command: { value: flags.healthCmd }, ...defined }
      : flags.healthHttp !== undefined
        ? { type: 'HTTP', http: httpTarget(flags.healthHttp), ...defined }
        : { type: 'TCP', tcp: { port: portOf('--health-tcp', flags.healthTcp ?? '') }, ...defined };
  const check = HealthCheck.safeParse(input);
  if (!check.success) {
    const issue = check.error.issues[0];
    throw new CliError(
      `invalid health check: ${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message}`,
      ExitCode.USAGE,
    );
  }
  return check.data;
}
