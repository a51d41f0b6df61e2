import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskView } from '../../protocol/index.js';
import { MEZZO, mezzo } from '../support/cli.js';
import { waitFor } from '../support/processes.js';

describe('mezzo run with a health check, end to end', () => {
  let data: string;
  let up: ChildProcess;
  let upOut = '';

  beforeAll(async () => {
    data = mkdtempSync(join(tmpdir(), 'mezzo-e2e-health-'));
    up = spawn(process.execPath, [MEZZO, 'up', '--agents', '1', '--data', data], {
      env: { ...process.env, MEZZO_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    up.stdout?.on('data', (d) => (upOut += d));
    up.stderr?.on('data', (d) => (upOut += d));
    await waitFor(() => /mezzo ready nats=\S+ agents=1/.test(upOut), 30_000, `the ready line; got: ${upOut}`);
  }, 40_000);

  afterAll(async () => {
    if (up.exitCode === null) {
      up.kill('SIGTERM');
      await waitFor(() => up.exitCode !== null || up.signalCode !== null, 20_000, 'mezzo up to stop').catch(
        () => up.kill('SIGKILL'),
      );
    }
    rmSync(data, { recursive: true, force: true });
  }, 30_000);

  const tasks = async (): Promise<TaskView[]> => {
    const r = await mezzo(data, ['tasks', '--json']);
    expect(r.code).toBe(0);
    return (JSON.parse(r.stdout) as { tasks: TaskView[] }).tasks;
  };

  it('kills a task whose --health-cmd keeps failing, and mezzo tasks shows it unhealthy', async () => {
    const r = await mezzo(data, [
      'run',
      '--name',
      'sick',
      '--health-cmd',
      'exit 1',
      '--health-delay',
      '0',
      '--health-interval',
      '0.2',
      '--health-grace',
      '0',
      '--health-failures',
      '2',
      '--',
      'sleep 60',
    ]);
    expect(r.stderr).toContain('TASK_KILLED');
    expect(r.code).toBe(128 + 15);
    const sick = (await tasks()).find((t) => t.taskId.startsWith('sick-'));
    expect(sick).toMatchObject({ state: 'TASK_KILLED', healthy: false });
    const table = await mezzo(data, ['tasks']);
    expect(table.stdout).toMatch(/HEALTH/);
    expect(table.stdout).toMatch(/sick-\S+\s+│\s+TASK_KILLED\s+│\s+unhealthy/);
  });

  it('leaves a task whose --health-cmd passes alone: it finishes, and mezzo tasks shows it healthy', async () => {
    const r = await mezzo(data, [
      'run',
      '--name',
      'fine',
      '--health-cmd',
      'true',
      '--health-delay',
      '0',
      '--health-interval',
      '0.2',
      '--',
      'sleep 2',
    ]);
    expect(r.code).toBe(0);
    const fine = (await tasks()).find((t) => t.taskId.startsWith('fine-'));
    expect(fine).toMatchObject({ state: 'TASK_FINISHED', healthy: true });
  });

  it('refuses two health checks at once with a usage error, launching nothing', async () => {
    const before = (await tasks()).length;
    const r = await mezzo(data, ['run', '--health-cmd', 'true', '--health-tcp', '80', '--', 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give one health check, not --health-cmd and --health-tcp');
    expect(await tasks()).toHaveLength(before);
  });
});
