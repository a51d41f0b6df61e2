import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../bus/index.js';
import { Operator } from '../../frameworks/sdk/index.js';
import { subjects as makeSubjects } from '../../protocol/index.js';
import { readCreds } from '../../security/index.js';
import { waitFor } from '../support/processes.js';
import { connectRaw, permissionError, type SecureCluster, startSecureCluster } from './auth-cluster.js';

const MEZZO = resolve('dist/cli/main.js');

describe('the cluster mezzo up starts', () => {
  let data: string;
  let up: ChildProcess;
  let out = '';
  let url: string;

  beforeAll(async () => {
    data = mkdtempSync(join(tmpdir(), 'mezzo-auth-'));
    up = spawn(process.execPath, [MEZZO, 'up', '--agents', '1', '--data', data], {
      env: { ...process.env, MEZZO_LOG_LEVEL: 'warn', MEZZO_NATS_URL: '', MEZZO_CREDS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    up.stdout?.on('data', (d) => (out += d));
    up.stderr?.on('data', (d) => (out += d));
    await waitFor(() => /mezzo ready nats=\S+ agents=1/.test(out), 40_000, `the ready line; got: ${out}`);
    url = /mezzo ready nats=(\S+)/.exec(out)?.[1] as string;
  }, 60_000);

  afterAll(async () => {
    if (up.exitCode === null) {
      up.kill('SIGTERM');
      await waitFor(() => up.exitCode !== null, 20_000, 'mezzo up to stop').catch(() => up.kill('SIGKILL'));
    }
    rmSync(data, { recursive: true, force: true });
  });

  it('refuses a client without credentials', async () => {
    await expect(connectRaw(url)).rejects.toThrow(/Authorization Violation/);
  });

  it('refuses a client with a wrong password', async () => {
    await expect(connectRaw(url, { user: 'admin', password: 'not-the-password' })).rejects.toThrow(
      /Authorization Violation/,
    );
    await expect(connectRaw(url, { user: 'nobody', password: 'x' })).rejects.toThrow(
      /Authorization Violation/,
    );
  });

  it('keeps every credentials file readable by its owner only, and points cluster.json at the admin one', () => {
    const cluster = JSON.parse(readFileSync(join(data, 'cluster.json'), 'utf8'));
    expect(cluster.creds).toBe(join(data, 'security', 'creds', 'admin.json'));
    for (const name of ['admin', 'master', 'agent-0']) {
      expect(statSync(join(data, 'security', 'creds', `${name}.json`)).mode & 0o777).toBe(0o600);
    }
    expect(statSync(join(data, 'security', 'principals.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(data, 'nats', 'auth.conf')).mode & 0o777).toBe(0o600);
  });

  it('lets the admin credentials of cluster.json run the CLI', () => {
    const r = spawnSync(process.execPath, [MEZZO, 'agents', '--data', data], {
      env: { ...process.env, MEZZO_LOG_LEVEL: 'warn', MEZZO_NATS_URL: '', MEZZO_CREDS: '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('ACTIVE');
  });

  it('issues a read-only operator with mezzo creds add that works at once, and only for reads', async () => {
    const r = spawnSync(
      process.execPath,
      [MEZZO, 'creds', 'add', 'operator', 'viewer', '--readonly', '--data', data],
      {
        env: { ...process.env, MEZZO_LOG_LEVEL: 'warn' },
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const path = r.stdout.trim();
    expect(path).toBe(join(data, 'security', 'creds', 'viewer.json'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const creds = readCreds(path);
    let nc: NatsConnection | undefined;
    await waitFor(
      async () => {
        nc = await connectRaw(url, creds).catch(() => undefined);
        return nc !== undefined;
      },
      10_000,
      'the reloaded server to accept the new operator',
    );
    const { NatsBus } = await import('../../bus/index.js');
    const bus = new NatsBus(nc as NatsConnection, silentLogger);
    const op = new Operator(bus, makeSubjects(), false, { principal: 'viewer', timeoutMs: 2000 });
    expect((await op.health()).healthy).toBe(true);
    await expect(op.updateWeights({ eng: 2 })).rejects.toThrow();
    expect((await op.weights()).weights).toEqual([]);
    await bus.close();
  });

  it('tells a CLI user whose credentials may not send a call so, at once', () => {
    const creds = join(data, 'security', 'creds', 'viewer.json');
    const env = { ...process.env, MEZZO_LOG_LEVEL: 'warn', MEZZO_NATS_URL: '', MEZZO_CREDS: '' };
    const read = spawnSync(process.execPath, [MEZZO, 'agents', '--data', data, '--creds', creds], {
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(read.status, read.stderr).toBe(0);
    const write = spawnSync(process.execPath, [MEZZO, 'weights', 'eng=2', '--data', data, '--creds', creds], {
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(write.status).toBe(1);
    expect(write.stderr).toMatch(
      /the credentials of viewer do not allow this call \(Permissions Violation for Publish to "mezzo\.v1\.master\.operator\.viewer\.write"\)/,
    );
  });

  it('refuses creds add for a name that is taken, and a framework without roles', () => {
    const again = spawnSync(process.execPath, [MEZZO, 'creds', 'add', 'operator', 'admin', '--data', data], {
      encoding: 'utf8',
    });
    expect(again.status, again.stderr).toBe(2);
    expect(again.stderr).toMatch(/a principal named admin already exists/);
    const noRoles = spawnSync(process.execPath, [MEZZO, 'creds', 'add', 'framework', 'web', '--data', data], {
      encoding: 'utf8',
    });
    expect(noRoles.status, noRoles.stderr).toBe(2);
    expect(noRoles.stderr).toMatch(/needs --roles/);
  });
});

describe('subject permissions of each principal', () => {
  let cluster: SecureCluster;
  let web: NatsConnection;
  let agentNc: NatsConnection;
  const s = makeSubjects();

  beforeAll(async () => {
    cluster = await startSecureCluster();
    await cluster.issue({ kind: 'framework', name: 'batch', roles: ['batch'], frameworkIds: ['fw-batch'] });
    const webCreds = await cluster.issue({
      kind: 'framework',
      name: 'web',
      roles: ['web'],
      frameworkIds: ['fw-web'],
    });
    web = await connectRaw(cluster.url, webCreds);
    agentNc = await connectRaw(cluster.url, cluster.agentCreds);
  }, 60_000);
  afterAll(async () => {
    await web?.close();
    await agentNc?.close();
    await cluster?.stop();
  });

  it("lets a framework publish its own calls but not another framework's", async () => {
    expect(await permissionError(web, s.scheduler('fw-web'), () => web.publish(s.scheduler('fw-web')))).toBe(
      '',
    );
    expect(
      await permissionError(web, s.scheduler('fw-batch'), () => web.publish(s.scheduler('fw-batch'))),
    ).toMatch(/Permissions Violation for Publish/);
  });

  it("keeps a framework from reading another framework's events, output or replies", async () => {
    for (const subject of [
      s.frameworkEvents('fw-batch'),
      s.taskOutput('fw-batch', 't1'),
      '_INBOX_batch.>',
      '_INBOX.>',
    ]) {
      expect(await permissionError(web, subject, () => web.subscribe(subject)), subject).toMatch(
        /Permissions Violation for Subscription/,
      );
    }
    expect(
      await permissionError(web, s.frameworkEvents('fw-web'), () =>
        web.subscribe(s.frameworkEvents('fw-web')),
      ),
    ).toBe('');
  });

  it('keeps a framework from speaking as an agent, the master or an operator', async () => {
    const agentId = cluster.agent.agentId;
    for (const subject of [
      s.masterAgent(agentId),
      s.agent(agentId),
      s.agentExecutors(agentId),
      s.frameworkEvents('fw-web'),
      s.operatorRead('web'),
      s.operatorWrite('admin'),
      s.operator(),
    ]) {
      expect(await permissionError(web, subject, () => web.publish(subject)), subject).toMatch(
        /Permissions Violation for Publish/,
      );
    }
  });

  it('keeps an agent from impersonating another agent or the master', async () => {
    for (const subject of [
      s.masterAgent('a-someone-else'),
      s.frameworkEvents('fw-web'),
      s.agent('a-someone-else'),
    ]) {
      expect(await permissionError(agentNc, subject, () => agentNc.publish(subject)), subject).toMatch(
        /Permissions Violation for Publish/,
      );
    }
    expect(
      await permissionError(agentNc, s.agent('a-someone-else'), () =>
        agentNc.subscribe(s.agent('a-someone-else')),
      ),
    ).toMatch(/Permissions Violation for Subscription/);
  });
});
