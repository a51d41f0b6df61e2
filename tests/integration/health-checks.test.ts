import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../bus/index.js';
import { Scheduler, type TaskToLaunch } from '../../frameworks/sdk/index.js';
import {
  type Capability,
  type HealthCheckInput,
  isTerminal,
  resources as R,
  type TaskStatus,
} from '../../protocol/index.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/processes.js';

/** freePort finds a port nothing listens on, for a task's server (the test's own, not the agent's range). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** HTTP answers 200 while the flag file exists, 503 while it does not. */
const HTTP_SERVER = `
const http = require('node:http'), fs = require('node:fs');
http.createServer((req, res) => { res.statusCode = fs.existsSync(process.env.FLAG) ? 200 : 503; res.end(); })
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

/** Listens on the port while the flag file exists, and stops listening while it does not. */
const TCP_SERVER = `
const net = require('node:net'), fs = require('node:fs');
let srv = null;
setInterval(() => {
  const up = fs.existsSync(process.env.FLAG);
  if (up && !srv) srv = net.createServer((s) => s.destroy()).listen(Number(process.env.PORT), '127.0.0.1');
  else if (!up && srv) { srv.close(); srv = null; }
}, 50);
`;

/** Fast timings for tests: the first probe at once, one every 0.3 s, never killed unless a test says. */
const FAST = {
  delaySeconds: 0,
  intervalSeconds: 0.3,
  timeoutSeconds: 2,
  gracePeriodSeconds: 10,
  consecutiveFailures: 0,
};

describe('health checks, TASK_KILLING and kill grace periods on a real agent and executors', () => {
  let cluster: TestCluster;
  let flags: string;
  const schedulers: Scheduler[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster();
    flags = mkdtempSync(join(tmpdir(), 'mezzo-health-'));
  });
  afterAll(async () => {
    for (const s of schedulers) await s.teardown().catch(() => {});
    await cluster.stop();
    rmSync(flags, { recursive: true, force: true });
  });

  /** framework subscribes a framework that launches what it is given on the next offer. */
  async function framework(name: string, capabilities: Capability[] = []) {
    const updates: TaskStatus[] = [];
    const pending: TaskToLaunch[] = [];
    const s = await Scheduler.start({
      nats: await cluster.nats.bus(name),
      prefix: cluster.nats.prefix,
      framework: { name, roles: ['*'], capabilities },
      log: silentLogger,
    });
    schedulers.push(s);
    s.on('update', (u) => void updates.push(u));
    s.on('offers', async (offers) => {
      for (const offer of offers) {
        const tasks = pending.splice(0);
        if (tasks.length > 0) await s.launch(offer, tasks);
        else await s.decline([offer.id], { refuseSeconds: 0.2 });
      }
    });
    await s.subscribed();
    const of = (taskId: string) => updates.filter((u) => u.taskId === taskId);
    return {
      s,
      of,
      launch(task: TaskToLaunch) {
        pending.push(task);
      },
      /** healthOf lists the health verdicts reported for a task, in order. */
      healthOf: (taskId: string) => of(taskId).flatMap((u) => (u.healthy === undefined ? [] : [u.healthy])),
      async until(taskId: string, what: string, check: (u: TaskStatus[]) => boolean, ms = 20_000) {
        await waitFor(() => check(of(taskId)), ms, `${taskId}: ${what}`);
      },
    };
  }

  const taskView = (taskId: string) => cluster.master.state().tasks.find((t) => t.taskId === taskId);

  /**
   * turnsUnhealthyAndBack runs a task whose check passes while `flag` exists: healthy, then
   * unhealthy once the flag is removed, then healthy again once it is back; each change is one
   * TASK_RUNNING update and the master's view follows. Then the task is killed.
   */
  async function turnsUnhealthyAndBack(
    taskId: string,
    flag: string,
    task: Omit<TaskToLaunch, 'taskId' | 'name' | 'resources'>,
  ) {
    const fw = await framework(`fw-${taskId}`);
    writeFileSync(flag, '');
    fw.launch({ taskId, name: taskId, resources: R.parseResources('cpus:0.1;mem:32'), ...task });
    await fw.until(taskId, 'healthy', (u) => u.some((x) => x.healthy === true));
    await waitFor(() => taskView(taskId)?.healthy === true, 10_000, 'the master to show it healthy');
    rmSync(flag);
    await fw.until(taskId, 'unhealthy', (u) => u.some((x) => x.healthy === false));
    await waitFor(() => taskView(taskId)?.healthy === false, 10_000, 'the master to show it unhealthy');
    writeFileSync(flag, '');
    await fw.until(taskId, 'healthy again', () => fw.healthOf(taskId).length >= 3);
    // A few more probes pass: they report nothing new.
    await new Promise((r) => setTimeout(r, 1000));
    expect(fw.healthOf(taskId)).toEqual([true, false, true]);
    for (const u of fw.of(taskId).filter((x) => x.healthy !== undefined)) {
      expect(u).toMatchObject({
        state: 'TASK_RUNNING',
        reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
        source: 'SOURCE_EXECUTOR',
      });
      expect(u.uuid).toBeTruthy();
    }
    expect(taskView(taskId)).toMatchObject({ state: 'TASK_RUNNING', healthy: true });
    await fw.s.kill(taskId);
    await fw.until(taskId, 'killed', (u) => u.some((x) => isTerminal(x.state)));
    expect(fw.of(taskId).at(-1)?.state).toBe('TASK_KILLED');
  }

  it('a COMMAND check turns unhealthy and back as its command fails and passes', async () => {
    const flag = join(flags, 'command-ok');
    await turnsUnhealthyAndBack('cmd-check', flag, {
      command: { value: 'sleep 600' },
      healthCheck: { type: 'COMMAND', command: { value: 'test -f "$FLAG"', env: { FLAG: flag } }, ...FAST },
    });
  });

  it('an HTTP check against the task’s own server turns unhealthy on a 503 and back on a 200', async () => {
    const flag = join(flags, 'http-ok');
    const port = await freePort();
    await turnsUnhealthyAndBack('http-check', flag, {
      command: {
        shell: false,
        argv: [process.execPath, '-e', HTTP_SERVER],
        env: { FLAG: flag, PORT: String(port) },
      },
      healthCheck: { type: 'HTTP', http: { port, path: '/health' }, ...FAST },
    });
  });

  it('a TCP check turns unhealthy while the task stops listening and back when it listens again', async () => {
    const flag = join(flags, 'tcp-ok');
    const port = await freePort();
    await turnsUnhealthyAndBack('tcp-check', flag, {
      command: {
        shell: false,
        argv: [process.execPath, '-e', TCP_SERVER],
        env: { FLAG: flag, PORT: String(port) },
      },
      healthCheck: { type: 'TCP', tcp: { port }, ...FAST },
    });
  });

  it('kills a task after consecutiveFailures failed checks: TASK_RUNNING unhealthy, then TASK_KILLED unhealthy', async () => {
    const fw = await framework('fw-doomed');
    const check: HealthCheckInput = {
      type: 'COMMAND',
      command: { value: 'exit 3' },
      delaySeconds: 0,
      intervalSeconds: 0.2,
      timeoutSeconds: 2,
      gracePeriodSeconds: 0,
      consecutiveFailures: 3,
    };
    fw.launch({
      taskId: 'doomed',
      name: 'doomed',
      resources: R.parseResources('cpus:0.1;mem:32'),
      command: { value: 'sleep 600' },
      killPolicy: { gracePeriodSeconds: 1 },
      healthCheck: check,
    });
    await fw.until('doomed', 'its end', (u) => u.some((x) => isTerminal(x.state)));
    expect(fw.of('doomed').map((u) => [u.state, u.healthy])).toEqual([
      ['TASK_STARTING', undefined],
      ['TASK_RUNNING', undefined],
      ['TASK_RUNNING', false],
      ['TASK_KILLED', false],
    ]);
    expect(fw.of('doomed')[2].message).toContain('exited with status 3');
    expect(fw.of('doomed')[3]).toMatchObject({ signal: 'SIGTERM' });
    await waitFor(() => taskView('doomed')?.state === 'TASK_KILLED', 10_000, 'the master to see TASK_KILLED');
    expect(taskView('doomed')?.healthy).toBe(false);
  });

  it('sends TASK_KILLING before TASK_KILLED to a framework with TASK_KILLING_STATE, and not to one without', async () => {
    const aware = await framework('fw-killing-aware', ['TASK_KILLING_STATE']);
    const plain = await framework('fw-killing-plain');
    const resources = R.parseResources('cpus:0.1;mem:32');
    aware.launch({ taskId: 'k-aware', name: 'k-aware', resources, command: { value: 'sleep 600' } });
    plain.launch({ taskId: 'k-plain', name: 'k-plain', resources, command: { value: 'sleep 600' } });
    await aware.until('k-aware', 'running', (u) => u.some((x) => x.state === 'TASK_RUNNING'));
    await plain.until('k-plain', 'running', (u) => u.some((x) => x.state === 'TASK_RUNNING'));
    await aware.s.kill('k-aware');
    await plain.s.kill('k-plain');
    await aware.until('k-aware', 'killed', (u) => u.some((x) => isTerminal(x.state)));
    await plain.until('k-plain', 'killed', (u) => u.some((x) => isTerminal(x.state)));
    expect(aware.of('k-aware').map((u) => u.state)).toEqual([
      'TASK_STARTING',
      'TASK_RUNNING',
      'TASK_KILLING',
      'TASK_KILLED',
    ]);
    expect(aware.of('k-aware')[2]).toMatchObject({ source: 'SOURCE_EXECUTOR' });
    expect(plain.of('k-plain').map((u) => u.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED']);
  });

  it('SIGKILLs a task that ignores SIGTERM once its kill policy’s grace period is over', async () => {
    const fw = await framework('fw-stubborn');
    const started = join(flags, 'stubborn-started');
    fw.launch({
      taskId: 'stubborn',
      name: 'stubborn',
      resources: R.parseResources('cpus:0.1;mem:32'),
      // The ignored SIGTERM is inherited by every process of the group, sleep included.
      command: { value: `trap '' TERM; touch "${started}"; while :; do sleep 0.1; done` },
      killPolicy: { gracePeriodSeconds: 2 },
    });
    await fw.until('stubborn', 'running', (u) => u.some((x) => x.state === 'TASK_RUNNING'));
    await waitFor(() => existsSync(started), 10_000, 'the trap to be set');
    const t0 = Date.now();
    await fw.s.kill('stubborn');
    await fw.until('stubborn', 'killed', (u) => u.some((x) => isTerminal(x.state)));
    const elapsed = Date.now() - t0;
    expect(fw.of('stubborn').at(-1)).toMatchObject({ state: 'TASK_KILLED', signal: 'SIGKILL' });
    // It outlived the SIGTERM for the whole grace period, and not much longer.
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(10_000);
  });
});
