import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../bus/index.js';
import { Operator, Scheduler } from '../../frameworks/sdk/index.js';
import { isTerminal, resources as R, type TaskStatus } from '../../protocol/index.js';
import { waitFor } from '../support/processes.js';
import { type SecureCluster, startSecureCluster } from './auth-cluster.js';

const SECRET = `s3cr3t-${process.pid}-value`;

/** filesUnder lists every file below a directory. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe('secret environment values of a task', () => {
  let cluster: SecureCluster;
  let logs = '';

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logs += chunk;
        done();
      },
    });
    cluster = await startSecureCluster({ log: pino({ level: 'debug' }, sink) });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('reach the task, and no log, GET_STATE, GET_TASKS or status', async () => {
    const updates: TaskStatus[] = [];
    let launched = false;
    const scheduler = await Scheduler.start({
      nats: await cluster.bus(cluster.admin, 'secrets'),
      framework: { name: 'secrets', roles: ['*'] },
      log: silentLogger,
      handlers: { update: (s) => void updates.push(s) },
    });
    scheduler.on('offers', async (offers) => {
      if (launched) return;
      launched = true;
      await scheduler.launch(offers[0], [
        {
          taskId: 'with-secret',
          name: 'with-secret',
          resources: R.parseResources('cpus:0.1;mem:16'),
          command: {
            value: 'printf %s "$DB_PASSWORD" > secret.out; echo "plain=$PLAIN"; sleep 1',
            env: { PLAIN: 'visible' },
            secrets: { DB_PASSWORD: SECRET },
          },
        },
      ]);
    });
    await scheduler.subscribed();
    const admin = new Operator(await cluster.bus(cluster.admin), cluster.subjects, false, {
      principal: 'admin',
    });
    // While it runs and after it ends, no view carries the value.
    await waitFor(() => updates.some((u) => u.state === 'TASK_RUNNING'), 15_000, 'the task to run');
    expect(JSON.stringify(await admin.state())).not.toContain(SECRET);
    await waitFor(() => updates.some((u) => isTerminal(u.state)), 15_000, 'the task to end');
    expect(updates.find((u) => isTerminal(u.state))?.state).toBe('TASK_FINISHED');
    expect(JSON.stringify(await admin.state())).not.toContain(SECRET);
    expect(JSON.stringify(await admin.tasks())).not.toContain(SECRET);
    expect(JSON.stringify(updates)).not.toContain(SECRET);
    await scheduler.close();

    const files = filesUnder(cluster.workDir);
    const out = files.find((f) => f.endsWith('/secret.out')) as string;
    expect(readFileSync(out, 'utf8')).toBe(SECRET);
    // The task file that carries it to the executor is for the owner only; no log has it.
    const taskFile = files.find(
      (f) => f.endsWith('/task.json') && readFileSync(f, 'utf8').includes('with-secret'),
    );
    expect(statSync(taskFile as string).mode & 0o777).toBe(0o600);
    for (const f of files.filter((f) => f.endsWith('.log')))
      expect(readFileSync(f, 'utf8'), f).not.toContain(SECRET);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(SECRET);
  });
});
