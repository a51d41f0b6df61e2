import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/processes.js';

const MEZZO = resolve('dist/cli/main.js');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

/**
 * The compose deployment's security, run on this host: `deploy/secure.sh` writes the CA, the NATS
 * nodes' certificate, the credentials and nats-server's configuration; a nats-server started from
 * that configuration (paths moved from /secrets to the temp dir), a master and an agent with
 * their own credentials over TLS make a cluster that runs a task for the admin operator and
 * refuses clients without credentials or without the CA.
 */
describe('the secured deployment (deploy/secure.sh)', () => {
  let dir: string;
  let url: string;
  const procs: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();
  const path = (...p: string[]) => join(dir, 'secrets', ...p);

  function start(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn(args[0], args.slice(1), {
      env: { ...process.env, MEZZO_LOG_LEVEL: 'warn', MEZZO_NATS_URL: '', MEZZO_CREDS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    logs.set(child, '');
    const add = (d: Buffer) => logs.set(child, (logs.get(child) ?? '') + d);
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
    procs.push(child);
    return child;
  }

  function mezzo(args: string[]): Promise<Ran> {
    return new Promise((done) => {
      const [command, ...rest] = args;
      const child = spawn(
        process.execPath,
        [MEZZO, command, '--nats', url, '--data', join(dir, 'cli'), ...rest],
        {
          env: { ...process.env, MEZZO_LOG_LEVEL: 'warn', MEZZO_NATS_URL: '', MEZZO_CREDS: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        done({ code, stdout, stderr });
      });
    });
  }
  const asAdmin = ['--creds', '', '--tls-ca', ''];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mezzo-secure-deploy-'));
    execFileSync('bash', ['deploy/secure.sh', join(dir, 'secrets'), '1'], { stdio: 'pipe' });
    asAdmin[1] = path('security', 'creds', 'admin.json');
    asAdmin[3] = path('tls', 'ca.pem');
    const conf = readFileSync(path('nats', 'nats.conf'), 'utf8')
      .replaceAll('/secrets/', `${path()}/`)
      .replace('"/data"', JSON.stringify(join(dir, 'js')));
    writeFileSync(path('nats', 'host.conf'), conf);
    const port = await freePort();
    url = `nats://127.0.0.1:${port}`;
    const nats = start(['nats-server', '-c', path('nats', 'host.conf'), '-p', String(port)]);
    await waitFor(() => /Server is ready/.test(logs.get(nats) ?? ''), 15_000, 'nats-server').catch((err) => {
      throw new Error(`${err.message}: ${logs.get(nats)} (exit ${nats.exitCode})`);
    });
    const tls = ['--tls-ca', path('tls', 'ca.pem')];
    start([
      process.execPath,
      MEZZO,
      'master',
      '--nats',
      url,
      '--data',
      join(dir, 'master'),
      '--creds',
      path('security', 'creds', 'master-1.json'),
      '--principals',
      path('security', 'principals.json'),
      ...tls,
    ]);
    start(
      [
        process.execPath,
        MEZZO,
        'agent',
        '--nats',
        url,
        '--work-dir',
        join(dir, 'agent'),
        '--resources',
        'cpus:1;mem:256;disk:64',
        '--creds',
        path('security', 'creds', 'agent-1.json'),
        ...tls,
      ],
      // What compose sets for the agent, so that its executors trust the nodes too.
      { NODE_EXTRA_CA_CERTS: path('tls', 'ca.pem') },
    );
    await waitFor(
      async () => {
        const r = await mezzo(['agents', '--json', ...asAdmin]);
        return r.code === 0 && r.stdout.includes('"agent-1"') && r.stdout.includes('ACTIVE');
      },
      30_000,
      `agent-1 to register; logs: ${[...logs.values()].join('\n')}`,
    );
  }, 60_000);

  afterAll(async () => {
    for (const p of [...procs].reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }, 40_000);

  it('writes every secret readable by its owner only, the CA key apart from what hosts mount', () => {
    for (const f of [
      ['tls', 'server-key.pem'],
      ['ca', 'ca-key.pem'],
      ['security', 'creds', 'master-1.json'],
      ['security', 'creds', 'agent-1.json'],
      ['security', 'creds', 'admin.json'],
      ['nats', 'auth.conf'],
    ])
      expect(statSync(path(...f)).mode & 0o077).toBe(0);
    expect(readFileSync(path('nats', 'nats.conf'), 'utf8')).toMatch(/tls \{[^}]*cert_file/);
    // The hashes, never the passwords, are in nats-server's users.
    const admin = JSON.parse(readFileSync(path('security', 'creds', 'admin.json'), 'utf8')) as {
      password: string;
    };
    expect(readFileSync(path('nats', 'auth.conf'), 'utf8')).not.toContain(admin.password);
  });

  it('runs a task over TLS for the admin operator', async () => {
    const r = await mezzo(['run', ...asAdmin, '--', 'echo', 'secure hello']);
    expect(r.stdout).toBe('secure hello\n');
    expect(r.code).toBe(0);
  }, 40_000);

  it('refuses a client without credentials, and one that does not trust the CA', async () => {
    const anonymous = await mezzo(['agents', '--tls-ca', path('tls', 'ca.pem')]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/credentials|authoriz/i);
    const untrusting = await mezzo(['agents', '--creds', path('security', 'creds', 'admin.json')]);
    expect(untrusting.code).not.toBe(0);
    expect(untrusting.stdout).not.toContain('agent-1');
  }, 40_000);
});
