import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, silentLogger } from '../../bus/index.js';
import { readCreds } from '../../security/index.js';
import { waitFor } from '../support/processes.js';

const MEZZO = resolve('dist/cli/main.js');

/** selfSignedCa makes a CA and a server certificate for 127.0.0.1 signed by it, with openssl. */
function selfSignedCa(dir: string, name: string): { ca: string; cert: string; key: string } {
  const p = (f: string) => join(dir, `${name}-${f}`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      p('ca.key'),
      '-out',
      p('ca.pem'),
      '-days',
      '1',
      '-subj',
      `/CN=${name}-ca`,
    ],
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    ['req', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1'],
    { stdio: 'ignore' },
  );
  writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      p('server.csr'),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p('server.pem'),
      '-days',
      '1',
      '-extfile',
      p('ext.cnf'),
    ],
    { stdio: 'ignore' },
  );
  return { ca: p('ca.pem'), cert: p('server.pem'), key: p('server.key') };
}

describe('mezzo up with TLS', () => {
  let dir: string;
  let data: string;
  let up: ChildProcess;
  let out = '';
  let url: string;
  let pki: { ca: string; cert: string; key: string };
  let otherCa: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mezzo-tls-'));
    data = join(dir, 'data');
    pki = selfSignedCa(dir, 'mezzo');
    otherCa = selfSignedCa(dir, 'other').ca;
    up = spawn(
      process.execPath,
      [
        MEZZO,
        'up',
        '--agents',
        '1',
        '--data',
        data,
        '--tls-cert',
        pki.cert,
        '--tls-key',
        pki.key,
        '--tls-ca',
        pki.ca,
      ],
      {
        env: { ...process.env, MEZZO_LOG_LEVEL: 'warn', MEZZO_NATS_URL: '', MEZZO_CREDS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    up.stdout?.on('data', (d) => (out += d));
    up.stderr?.on('data', (d) => (out += d));
    await waitFor(() => /mezzo ready nats=\S+ agents=1/.test(out), 40_000, `the ready line; got: ${out}`);
    url = /mezzo ready nats=(\S+)/.exec(out)?.[1] as string;
  }, 60_000);

  afterAll(async () => {
    if (up?.exitCode === null) {
      up.kill('SIGTERM');
      await waitFor(() => up.exitCode !== null, 20_000, 'mezzo up to stop').catch(() => up.kill('SIGKILL'));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a task end to end, executors included, over TLS with the CA recorded in cluster.json', () => {
    expect(JSON.parse(readFileSync(join(data, 'cluster.json'), 'utf8')).tlsCa).toBe(pki.ca);
    const r = spawnSync(process.execPath, [MEZZO, 'run', '--data', data, '--', 'echo', 'over tls'], {
      env: { ...process.env, MEZZO_LOG_LEVEL: 'warn', MEZZO_NATS_URL: '', MEZZO_CREDS: '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stdout, r.stderr).toBe('over tls\n');
    expect(r.status).toBe(0);
  });

  it('accepts a client that trusts the CA and refuses one that does not', async () => {
    const admin = readCreds(join(data, 'security', 'creds', 'admin.json'));
    const auth = { user: admin.user, pass: admin.password };
    const ok = await connectNats({
      servers: url,
      name: 'tls-ok',
      log: silentLogger,
      ...auth,
      tls: { caFile: pki.ca },
    });
    await ok.close();
    await expect(
      connectNats({
        servers: url,
        name: 'tls-wrong-ca',
        log: silentLogger,
        ...auth,
        tls: { caFile: otherCa },
      }),
    ).rejects.toThrow();
    await expect(
      connectNats({ servers: url, name: 'tls-no-ca', log: silentLogger, ...auth }),
    ).rejects.toThrow();
  });
});
