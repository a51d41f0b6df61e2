import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppsClient } from '../../frameworks/apps/client.js';
import { waitFor } from '../support/apps.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';

const MEZZO = resolve('dist/cli/main.js');

/** A `mezzo apps` process against the test cluster, with its output collected. */
function mezzoApps(cluster: TestCluster) {
  const child = spawn(
    process.execPath,
    [MEZZO, 'apps', '--nats', cluster.nats.url, '--prefix', cluster.nats.prefix],
    {
      env: { ...process.env, MEZZO_DATA: cluster.workDir, MEZZO_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const out = { text: '' };
  child.stdout?.on('data', (d) => (out.text += d));
  child.stderr?.on('data', (d) => (out.text += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, out, exited };
}

describe('mezzo apps: the built-in frameworks as processes of their own', () => {
  let cluster: TestCluster;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    cluster = await startTestCluster();
  });
  afterEach(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await cluster.stop();
  });

  it('runs one active copy of each; when it stops, the standby serves', async () => {
    const first = mezzoApps(cluster);
    children.push(first.child);
    await waitFor(
      () => (/mezzo apps ready: leading services, jobs, cronjobs/.test(first.out.text) ? true : undefined),
      {
        timeoutMs: 30_000,
        what: `the first copy to lead; got ${first.out.text}`,
      },
    );
    const second = mezzoApps(cluster);
    children.push(second.child);
    await waitFor(() => (/mezzo apps ready: standing by/.test(second.out.text) ? true : undefined), {
      timeoutMs: 30_000,
      what: `the second copy to stand by; got ${second.out.text}`,
    });

    const client = new AppsClient(await cluster.nats.bus('client'), cluster.nats.prefix);
    await client.apply({ kind: 'Job', name: 'one', command: 'true' });
    await waitFor(async () => ((await client.get('Job', 'one')).phase === 'Succeeded' ? true : undefined), {
      timeoutMs: 30_000,
    });

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // The standby takes the lease and the same framework: the job it did not run is known to it.
    const again = await waitFor(() => client.get('Job', 'one').catch(() => undefined), {
      timeoutMs: 30_000,
      what: 'the standby to answer',
    });
    expect(again.phase).toBe('Succeeded');
    await client.apply({ kind: 'Job', name: 'two', command: 'true' });
    await waitFor(async () => ((await client.get('Job', 'two')).phase === 'Succeeded' ? true : undefined), {
      timeoutMs: 30_000,
    });

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);
});
