import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor as poll } from '../support/apps.js';
import { MEZZO, type Ran, mezzo as runMezzo } from '../support/cli.js';
import { waitFor } from '../support/processes.js';

/** mezzo runs a CLI command; tables lose their borders, so assertions read `web 3/3 3 1`. */
async function mezzo(data: string, args: string[], timeoutMs = 30_000): Promise<Ran> {
  const r = await runMezzo(data, args, { timeoutMs });
  return { ...r, stdout: r.stdout.replace(/[│┌┐└┘├┤┬┴┼─]/g, ' ') };
}

describe('mezzo up runs the built-in frameworks; apply, get, describe, scale, logs, delete', () => {
  let data: string;
  let up: ChildProcess;
  let upOut = '';

  beforeAll(async () => {
    data = mkdtempSync(join(tmpdir(), 'mezzo-apps-e2e-'));
    up = spawn(
      process.execPath,
      [
        MEZZO,
        'up',
        '--agents',
        '1',
        '--data',
        data,
        '--resources',
        'cpus:4;mem:4096;disk:1024;ports:[39100-39149]',
      ],
      { env: { ...process.env, MEZZO_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    up.stdout?.on('data', (d) => (upOut += d));
    up.stderr?.on('data', (d) => (upOut += d));
    await waitFor(() => /mezzo ready nats=\S+ agents=1/.test(upOut), 60_000, `the ready line; got: ${upOut}`);
  }, 70_000);

  afterAll(async () => {
    if (up.exitCode === null) {
      up.kill('SIGTERM');
      await waitFor(() => up.exitCode !== null, 30_000, 'mezzo up to stop').catch(() => up.kill('SIGKILL'));
    }
    rmSync(data, { recursive: true, force: true });
  }, 40_000);

  it('rejects an invalid spec file naming each field and problem, and applies nothing', async () => {
    const bad = join(data, 'bad.yaml');
    writeFileSync(
      bad,
      'kind: Service\nname: web\ncommand: x\ninstances: -2\nports: [http]\nhealthCheck: {type: HTTP, port: admin}\n---\nkind: Job\nname: j\n',
    );
    const r = await mezzo(data, ['apply', '-f', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('services.web.instances: expected a non-negative integer');
    expect(r.stderr).toContain('services.web.healthCheck.port: no such port "admin" in ports');
    expect(r.stderr).toContain('jobs.j.command: expected a command');
    expect(r.stderr).toContain('nothing was applied');
    expect((await mezzo(data, ['get', 'services'])).stdout).toContain('no services');
    expect((await mezzo(data, ['get', 'jobs'])).stdout).toContain('no jobs');
  });

  it('applies examples/web.yaml, follows the rollout, and shows the instances with hosts, ports and health', async () => {
    const r = await mezzo(data, ['apply', '-f', 'examples/web.yaml', '--timeout', '90'], 120_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('service/web created');
    expect(r.stdout).toMatch(/web: version 1 · 3\/3 healthy/);
    expect(r.stdout).toContain('service/web rolled out');

    const again = await mezzo(data, ['apply', '-f', 'examples/web.yaml', '--no-wait']);
    expect(again.stdout, again.stderr).toContain('service/web unchanged');

    const get = await mezzo(data, ['get', 'services']);
    expect(get.stdout).toMatch(/web\s+3\/3\s+3\s+1/);
    const d = await mezzo(data, ['describe', 'service', 'web']);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/Instances:\s+3 healthy, 3 running, 3 desired/);
    expect(d.stdout.match(/TASK_RUNNING\s+yes\s+\S+\s+391[0-4]\d/g)).toHaveLength(3);
    expect(d.stdout).toContain('Events:');

    // The health checks' requests show in the instances' logs (http.server logs to stderr).
    const logs = await poll(
      async () => {
        const l = await mezzo(data, ['logs', 'web']);
        return /\[svc-web-\S+\] .*"GET \/ HTTP\/1.1" 200/.test(l.stderr) ? l : undefined;
      },
      { timeoutMs: 30_000, what: 'health check requests in the logs' },
    );
    expect(logs.code).toBe(0);
  }, 150_000);

  it('shows the diff of a changed spec and follows its rollout; logs -f follows live output', async () => {
    const changed = join(data, 'web-v2.yaml');
    writeFileSync(
      changed,
      readFileSync('examples/web.yaml', 'utf8').replace('GREETING: hello', 'GREETING: bonjour'),
    );
    const r = await mezzo(data, ['apply', '-f', changed, '--timeout', '90'], 120_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('service/web updated (version 2)');
    expect(r.stdout).toContain('  env.GREETING: "hello" -> "bonjour"');
    expect(r.stdout).toMatch(/web: version 2 · \d\/3 healthy · \d instance\(s\) · \d old/);
    expect(r.stdout).toContain('service/web rolled out');

    const child = spawn(process.execPath, [MEZZO, 'logs', 'web', '-f'], {
      env: { ...process.env, MEZZO_DATA: data, MEZZO_NATS_URL: '', MEZZO_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      // The tail first, then live lines from the health checks every second.
      await waitFor(() => /\[svc-web-\S+\] .*GET \//.test(err), 20_000, 'the recent output');
      const seen = err.length;
      await waitFor(() => /\[svc-web-\S+\] .*GET \//.test(err.slice(seen)), 20_000, 'live output');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 150_000);

  it('scales a service down, then deletes it', async () => {
    const s = await mezzo(data, ['scale', 'service', 'web', '1']);
    expect(s.stdout).toContain('service web scaled from 3 to 1');
    await poll(
      async () => ((await mezzo(data, ['get', 'services'])).stdout.match(/web\s+1\/1/) ? true : undefined),
      { timeoutMs: 60_000 },
    );
    const del = await mezzo(data, ['delete', 'service', 'web']);
    expect(del.code).toBe(0);
    await poll(
      async () =>
        (await mezzo(data, ['get', 'services'])).stdout.includes('no services') ? true : undefined,
      { timeoutMs: 60_000 },
    );
    const gone = await mezzo(data, ['describe', 'service', 'web']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('service web not found');
  }, 150_000);

  it('runs a job to success and shows the last failure of one that always fails in describe', async () => {
    const failing = join(data, 'fail.yaml');
    writeFileSync(
      failing,
      'kind: Job\nname: doomed\ncommand: "echo no >&2; exit 4"\nretries: 1\nbackoff: {backoffSeconds: 0.2}\n',
    );
    expect((await mezzo(data, ['apply', '-f', failing])).stdout).toContain('job/doomed created');
    const sample = join(data, 'ok.yaml');
    writeFileSync(
      sample,
      'kind: Job\nname: fine\ncommand: "[ $JOB_ATTEMPT -ge 1 ]"\ncompletions: 3\nparallelism: 2\nretries: 1\nbackoff: {backoffSeconds: 0.2}\n',
    );
    expect((await mezzo(data, ['apply', '-f', sample])).code).toBe(0);
    const d = await poll(
      async () => {
        const r = await mezzo(data, ['describe', 'job', 'doomed']);
        return r.stdout.includes('Phase:       Failed') ? r : undefined;
      },
      { timeoutMs: 60_000, what: 'doomed to fail' },
    );
    expect(d.stdout).toMatch(/Last failure: job-doomed-\S+-0-1: TASK_FAILED.*exit code 4/);
    // One task's logs, by task id: its stderr, unprefixed.
    const taskId = /job-doomed-\S+-0-1/.exec(d.stdout)?.[0] as string;
    const one = await poll(
      async () => {
        const l = await mezzo(data, ['logs', taskId]);
        return l.stderr === 'no\n' ? l : undefined;
      },
      { timeoutMs: 20_000, what: "the failed task's stderr" },
    );
    expect(one.code).toBe(0);
    let last = '';
    await poll(
      async () => {
        last = (await mezzo(data, ['describe', 'job', 'fine'])).stdout;
        return last.includes('Phase:       Succeeded') ? true : undefined;
      },
      { timeoutMs: 90_000, what: 'fine to succeed' },
    ).catch((err) => {
      throw new Error(`${(err as Error).message}; last describe:\n${last}`);
    });
    const jobs = await mezzo(data, ['get', 'jobs']);
    expect(jobs.stdout).toMatch(/doomed\s+Failed\s+0\/1/);
    expect(jobs.stdout).toMatch(/fine\s+Succeeded\s+3\/3/);
  }, 120_000);

  it('applies examples/cronjob.yaml and lists it with its next run', async () => {
    const r = await mezzo(data, ['apply', '-f', 'examples/cronjob.yaml']);
    expect(r.stdout).toContain('cronjob/tick created');
    const list = await mezzo(data, ['get', 'cronjobs']);
    expect(list.stdout).toMatch(/tick\s+\*\/10 \* \* \* \* \*\s+UTC\s+forbid/);
    await poll(
      async () =>
        (await mezzo(data, ['describe', 'cronjob', 'tick'])).stdout.match(
          /tick-\d+\s+\S+\s+(Running|Succeeded)/,
        )
          ? true
          : undefined,
      {
        timeoutMs: 40_000,
        what: 'a run of tick',
      },
    );
  }, 60_000);
});
