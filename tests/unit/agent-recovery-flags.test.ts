import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExecutorLauncher, type LaunchEvent } from '../../actors/agent/executor-launcher.js';
import { RECOVERY_TIMEOUT_ENV, recoveryTimeoutMs } from '../../actors/executor/index.js';
import { parseRecover, parseRecoveryTimeout, parseReregistrationTimeout } from '../../cli/commands/agent.js';
import { FrameworkInfo } from '../../protocol/index.js';

describe('mezzo agent --recover and --recovery-timeout', () => {
  it('reads the two recover modes and refuses anything else, naming them', () => {
    expect(parseRecover('reconnect')).toBe('reconnect');
    expect(parseRecover('cleanup')).toBe('cleanup');
    expect(() => parseRecover('reboot')).toThrow(/--recover must be one of reconnect, cleanup; got "reboot"/);
    expect(() => parseRecover('')).toThrow(/--recover must be one of/);
  });

  it('reads the recovery timeout as whole seconds from 1 to 7 days, in ms', () => {
    expect(parseRecoveryTimeout('900')).toBe(900_000);
    expect(parseRecoveryTimeout('1')).toBe(1000);
    for (const bad of ['0', '-5', '1.5', '15m', '', '604801'])
      expect(() => parseRecoveryTimeout(bad), bad).toThrow(
        /--recovery-timeout must be a whole number of seconds/,
      );
  });

  it('reads the executor re-registration timeout as whole seconds from 1 to 1 h, in ms', () => {
    expect(parseReregistrationTimeout('5')).toBe(5000);
    for (const bad of ['0', '3601', '2s', ''])
      expect(() => parseReregistrationTimeout(bad), bad).toThrow(
        /--executor-reregistration-timeout must be a whole number of seconds from 1 to 3600/,
      );
  });
});

describe('the executor’s recovery timeout', () => {
  it('is read from its environment only when it is a positive whole number of ms', () => {
    expect(recoveryTimeoutMs({ [RECOVERY_TIMEOUT_ENV]: '900000' })).toBe(900_000);
    for (const bad of [undefined, '', '0', '-1', '1e9', 'soon', '12345678901'])
      expect(recoveryTimeoutMs({ [RECOVERY_TIMEOUT_ENV]: bad }), String(bad)).toBeUndefined();
  });

  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** envOf launches a fake executor that dumps its environment, and returns it. */
  async function envOf(checkpoint: boolean): Promise<Record<string, string>> {
    const sandbox = mkdtempSync(join(tmpdir(), 'mezzo-launch-env-'));
    dirs.push(sandbox);
    const events: LaunchEvent[] = [];
    const launcher = new ExecutorLauncher({
      command: [
        process.execPath,
        '-e',
        "require('fs').writeFileSync('env.json', JSON.stringify(process.env))",
      ],
      env: {},
      prefix: 't.v1',
      recoveryTimeoutMs: 123_000,
      report: (e) => void events.push(e),
    });
    const framework = FrameworkInfo.parse({ id: 'f1', name: 'fw', checkpoint });
    launcher.launch({
      key: 'f1/t1',
      executorId: 't1',
      sandbox,
      file: {
        task: { taskId: 't1', name: 't1', agentId: 'a-1', resources: [], command: { value: 'true' } },
        framework,
        frameworkId: 'f1',
        agentId: 'a-1',
        executorId: 't1',
        killPolicy: { gracePeriodSeconds: 3 },
      },
    });
    const deadline = Date.now() + 15_000;
    while (!events.some((e) => e.type === 'EXECUTOR_EXITED') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(events[0]).toMatchObject({
      type: 'EXECUTOR_SPAWNED',
      startTime: expect.stringMatching(/^[0-9]+$/),
    });
    return JSON.parse(readFileSync(join(sandbox, 'env.json'), 'utf8'));
  }

  it('is given by the agent to the executors of checkpointing frameworks only', async () => {
    expect((await envOf(true))[RECOVERY_TIMEOUT_ENV]).toBe('123000');
    expect((await envOf(false))[RECOVERY_TIMEOUT_ENV]).toBeUndefined();
  }, 30_000);
});
