import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEZZO, mezzo } from '../support/cli.js';
import { alive, commandLine, descendants, waitFor } from '../support/processes.js';

describe('mezzo up and the CLI, end to end', () => {
  let data: string;
  let up: ChildProcess;
  let upOut = '';
  let started: number[] = [];

  beforeAll(async () => {
    data = mkdtempSync(join(tmpdir(), 'mezzo-e2e-'));
    up = spawn(process.execPath, [MEZZO, 'up', '--agents', '2', '--data', data], {
      env: { ...process.env, MEZZO_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    up.stdout?.on('data', (d) => (upOut += d));
    up.stderr?.on('data', (d) => (upOut += d));
    await waitFor(() => /mezzo ready nats=\S+ agents=2/.test(upOut), 30_000, `the ready line; got: ${upOut}`);
  }, 40_000);

  afterAll(async () => {
    if (up.exitCode === null) up.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  });

  it('prints one ready line and writes cluster.json', () => {
    expect(upOut.match(/mezzo ready/g)).toHaveLength(1);
    expect(existsSync(join(data, 'cluster.json'))).toBe(true);
  });

  it('runs echo hello, prints hello and exits 0', async () => {
    const r = await mezzo(data, ['run', '--', 'echo', 'hello']);
    expect(r.stdout).toBe('hello\n');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('TASK_FINISHED');
  });

  it('shows stdout and stderr of a failing shell command and exits with its code', async () => {
    const r = await mezzo(data, ['run', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(r.stdout).toContain('out\n');
    expect(r.stderr).toContain('err\n');
    expect(r.stderr).toContain('TASK_FAILED');
    expect(r.code).toBe(7);
  });

  it('runs a task under the rlimits given with --rlimit', async () => {
    const r = await mezzo(data, [
      'run',
      '--rlimit',
      'nofile=64:128',
      '--rlimit',
      'core=0',
      '--',
      'ulimit -n; ulimit -Hn; ulimit -c',
    ]);
    expect(r.stdout).toBe('64\n128\n0\n');
    expect(r.code).toBe(0);
  });

  it('refuses at once a task no agent can fit', async () => {
    const t0 = Date.now();
    const r = await mezzo(data, ['run', '--cpus', '999', '--', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no agent can fit/i);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('kills the task on Ctrl-C: TASK_KILLED and no process left', async () => {
    let child: ChildProcess | undefined;
    const running = mezzo(data, ['run', '--', 'sleep', '60'], { onSpawn: (c) => (child = c) });
    let sleepPid: number | undefined;
    await waitFor(
      () => {
        sleepPid = descendants(up.pid as number).find((p) => commandLine(p) === 'sleep 60');
        return sleepPid !== undefined;
      },
      15_000,
      'the sleep task to start',
    );
    child?.kill('SIGINT');
    const r = await running;
    expect(r.stderr).toContain('TASK_KILLED');
    expect(r.code).not.toBe(0);
    await waitFor(() => !alive(sleepPid as number), 5000, 'the sleep process to end');
  });

  it('lists agents with total and used resources, tasks with states, and frameworks', async () => {
    const agents = JSON.parse((await mezzo(data, ['agents', '--json'])).stdout);
    const list = Array.isArray(agents) ? agents : agents.agents;
    expect(list).toHaveLength(2);
    for (const a of list) {
      expect(a.total.length).toBeGreaterThan(0);
      expect(a).toHaveProperty('used');
    }
    const tasksOut = JSON.parse((await mezzo(data, ['tasks', '--json'])).stdout);
    const tasks = Array.isArray(tasksOut) ? tasksOut : tasksOut.tasks;
    expect(tasks.map((t: { state: string }) => t.state)).toEqual(
      expect.arrayContaining(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED']),
    );
    const fw = await mezzo(data, ['frameworks']);
    expect(fw.code).toBe(0);
    expect(fw.stdout).toContain('mezzo-run');
  });

  it('stops on SIGTERM leaving no process behind', async () => {
    const sleeper = mezzo(data, ['run', '--', 'sleep', '120']);
    await waitFor(
      () => descendants(up.pid as number).some((p) => commandLine(p) === 'sleep 120'),
      15_000,
      'sleep 120',
    );
    started = descendants(up.pid as number);
    expect(started.length).toBeGreaterThanOrEqual(3); // nats-server, executor, task at least
    up.kill('SIGTERM');
    await waitFor(() => up.exitCode !== null, 20_000, 'mezzo up to exit');
    expect(up.exitCode).toBe(0);
    await waitFor(
      () => started.every((p) => !alive(p)),
      5000,
      `no process left: ${started.filter(alive).map(commandLine)}`,
    );
    await sleeper.catch(() => undefined);
  }, 40_000);
});
