import { describe, expect, it } from 'vitest';
import { CliError, ExitCode } from '../../cli/errors.js';
import { healthCheckFor } from '../../cli/health-flags.js';

describe("mezzo run's health check flags", () => {
  it('gives no health check without a check flag', () => {
    expect(healthCheckFor({})).toBeUndefined();
  });

  it('makes a COMMAND check with the Mesos timings where no flag sets them', () => {
    expect(healthCheckFor({ healthCmd: 'curl -f localhost:8080' })).toEqual({
      type: 'COMMAND',
      command: { shell: true, value: 'curl -f localhost:8080', env: {} },
      delaySeconds: 15,
      intervalSeconds: 10,
      timeoutSeconds: 20,
      gracePeriodSeconds: 10,
      consecutiveFailures: 3,
    });
  });

  it('reads --health-http PORT[/path] and --health-tcp PORT, with the timing flags', () => {
    expect(
      healthCheckFor({ healthHttp: '8080/ready?deep=1', healthInterval: 2, healthFailures: 0 }),
    ).toMatchObject({
      type: 'HTTP',
      http: { port: 8080, path: '/ready?deep=1' },
      intervalSeconds: 2,
      consecutiveFailures: 0,
    });
    expect(healthCheckFor({ healthHttp: '8080' })).toMatchObject({ http: { port: 8080, path: '/' } });
    expect(
      healthCheckFor({ healthTcp: '5432', healthDelay: 0, healthTimeout: 1, healthGrace: 30 }),
    ).toMatchObject({
      type: 'TCP',
      tcp: { port: 5432 },
      delaySeconds: 0,
      timeoutSeconds: 1,
      gracePeriodSeconds: 30,
    });
  });

  it.each([
    [{ healthCmd: 'true', healthTcp: '80' }, 'give one health check, not --health-cmd and --health-tcp'],
    [{ healthInterval: 5 }, 'health check timings need a check'],
    [{ healthTcp: '99999' }, '--health-tcp 99999: expected a port between 1 and 65535'],
    [{ healthHttp: 'web/health' }, '--health-http web: expected a port'],
    [{ healthTcp: '80', healthFailures: 1.5 }, 'invalid health check: consecutiveFailures'],
    [{ healthTcp: '80', healthInterval: 0 }, 'invalid health check: intervalSeconds'],
  ])('refuses %j with a usage error', (flags, message) => {
    let err: unknown;
    try {
      healthCheckFor(flags);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(ExitCode.USAGE);
    expect((err as CliError).message).toContain(message);
  });
});
