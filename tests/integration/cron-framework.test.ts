import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NatsBus } from '../../bus/index.js';
import { AppsClient } from '../../frameworks/apps/client.js';
import { bucketName } from '../../frameworks/apps/task-text.js';
import { type CronFramework, CronState, runName, startCronFramework } from '../../frameworks/cron/index.js';
import { startJobsFramework } from '../../frameworks/jobs/index.js';
import { StateStore } from '../../frameworks/sdk/index.js';
import { waitFor } from '../support/apps.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';

describe('cron framework with the jobs framework on a real master and agent', () => {
  let cluster: TestCluster;
  let stopJobs: (() => Promise<void>) | undefined;
  let cron: CronFramework | undefined;
  let cronBus: NatsBus;
  let client: AppsClient;
  let dir: string;

  const startCron = async () => {
    cron = await startCronFramework({ bus: cronBus, prefix: cluster.nats.prefix, tickMs: 100 });
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mezzo-cron-'));
    cluster = await startTestCluster({
      agent: { resources: 'cpus:4;mem:2048;disk:512;ports:[31000-31009]' },
    });
    const jobs = await startJobsFramework({
      bus: await cluster.nats.bus('jobs'),
      prefix: cluster.nats.prefix,
    });
    stopJobs = () => jobs.stop();
    cronBus = await cluster.nats.bus('cron');
    await startCron();
    client = new AppsClient(await cluster.nats.bus('client'), cluster.nats.prefix);
  });
  afterEach(async () => {
    await cron?.stop();
    await stopJobs?.();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never overlaps runs under forbid, and skips the runs due while one still runs', async () => {
    const log = join(dir, 'runs.log');
    await client.apply({
      kind: 'CronJob',
      name: 'slow',
      schedule: '* * * * * *', // every second; each run takes about 2.5 s
      concurrencyPolicy: 'forbid',
      job: { command: `echo "start $JOB_NAME" >> ${log}; sleep 2.5; echo "end $JOB_NAME" >> ${log}` },
    });
    const v = await waitFor(
      async () => {
        const c = await client.get('CronJob', 'slow');
        return c.runs.filter((r) => r.phase === 'Succeeded').length >= 2 ? c : undefined;
      },
      { timeoutMs: 60_000, what: 'two finished runs' },
    );
    expect(v.events.some((e) => /skipped the run of .* still running \(forbid\)/.test(e.message))).toBe(true);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    // Runs never overlap: the log alternates start X, end X.
    for (let k = 0; k + 1 < lines.length; k += 2) {
      expect(lines[k]).toMatch(/^start /);
      expect(lines[k + 1]).toBe(lines[k]?.replace('start', 'end'));
    }
  }, 90_000);

  it('replaces a run still active under replace: the old job is deleted and its task killed', async () => {
    await client.apply({
      kind: 'CronJob',
      name: 'swap',
      schedule: '*/2 * * * * *',
      concurrencyPolicy: 'replace',
      job: { command: 'sleep 30' },
    });
    const c = await waitFor(
      async () => {
        const v = await client.get('CronJob', 'swap');
        return v.runs.some((r) => r.phase === 'Replaced') ? v : undefined;
      },
      { timeoutMs: 30_000, what: 'a replaced run' },
    );
    expect(c.active).toHaveLength(1);
    expect(c.events.some((e) => /^replaced swap-\d+$/.test(e.message))).toBe(true);
    const replaced = c.runs.find((r) => r.phase === 'Replaced')?.job as string;
    const jobs = await client.list('Job');
    expect(jobs.map((j) => j.name)).not.toContain(replaced);
    // Never two runs at once: the old one is deleted before the new one is created.
    expect(
      jobs.filter((j) => j.name.startsWith('swap-') && j.phase === 'Running').length,
    ).toBeLessThanOrEqual(1);
  }, 60_000);

  it('after a restart it neither fires a started run again nor runs one missed past its deadline, but runs one within it', async () => {
    await client.apply({
      kind: 'CronJob',
      name: 'strict',
      schedule: '*/4 * * * * *',
      startingDeadlineSeconds: 1,
      job: { command: 'true' },
    });
    await client.apply({
      kind: 'CronJob',
      name: 'lenient',
      schedule: '*/4 * * * * *',
      startingDeadlineSeconds: 30,
      job: { command: 'true' },
    });
    // Wait for a run of each, then stop the cron framework right after it started.
    const started = await waitFor(
      async () => {
        const c = await client.get('CronJob', 'strict');
        return c.runs.length >= 1 ? c : undefined;
      },
      { timeoutMs: 30_000, what: 'a first run' },
    );
    await cron?.stop();
    cron = undefined;
    const jobsBefore = (await client.list('Job')).map((j) => j.name);
    const firstRun = started.runs[0]?.job as string;
    expect(jobsBefore).toContain(firstRun);

    // Stay down until the next scheduled time is 2-3 s in the past: past strict's deadline, within lenient's.
    const next = (Math.floor(Date.now() / 4000) + 1) * 4000;
    await sleep(next + 2200 - Date.now());
    await startCron();
    const missedName = `strict-${next / 1000}`;
    const strict = await waitFor(
      async () => {
        const c = await client.get('CronJob', 'strict');
        return c.events.some((e) => e.message.startsWith(`missed the run of ${new Date(next).toISOString()}`))
          ? c
          : undefined;
      },
      { timeoutMs: 20_000, what: 'the missed run to be recorded' },
    );
    expect(strict.runs.map((r) => r.job)).not.toContain(missedName);
    const lenient = await waitFor(
      async () => {
        const c = await client.get('CronJob', 'lenient');
        return c.runs.some((r) => r.job === `lenient-${next / 1000}`) ? c : undefined;
      },
      { timeoutMs: 20_000, what: 'the late run within the deadline' },
    );
    // No run was started twice: every run has its own scheduled time, and the first run is the same job.
    for (const c of [strict, lenient]) {
      const times = c.runs.map((r) => r.scheduledAt);
      expect(new Set(times).size).toBe(times.length);
    }
    expect(strict.runs.filter((r) => r.job === firstRun)).toHaveLength(1);
    const jobNames = (await client.list('Job')).map((j) => j.name);
    expect(jobNames).not.toContain(missedName);
    expect(new Set(jobNames).size).toBe(jobNames.length);
  }, 90_000);

  it('finishes a run it recorded but had not created when it crashed, exactly once', async () => {
    await client.apply({ kind: 'CronJob', name: 'crashy', schedule: '0 0 1 1 *', job: { command: 'true' } });
    await cron?.stop();
    cron = undefined;
    // What a crash between recording the run and creating its job leaves in the bucket.
    const store = await StateStore.open({
      bus: cronBus,
      bucket: bucketName(cluster.nats.prefix, 'cronjobs'),
    });
    const s = (await store.get('cron.crashy', CronState)) as CronState;
    const at = Math.floor(Date.now() / 1000) * 1000;
    await store.put('cron.crashy', CronState, {
      ...s,
      lastScheduleTime: at,
      pending: { job: runName('crashy', at), at },
    });
    await startCron();
    const c = await waitFor(
      async () => {
        const v = await client.get('CronJob', 'crashy');
        return v.runs.length ? v : undefined;
      },
      { timeoutMs: 20_000, what: 'the pending run' },
    );
    expect(c.runs).toEqual([{ job: runName('crashy', at), scheduledAt: at, phase: expect.any(String) }]);
    await sleep(1000);
    expect((await client.list('Job')).map((j) => j.name)).toEqual([runName('crashy', at)]);
    expect((await client.get('CronJob', 'crashy')).runs).toHaveLength(1);
  }, 60_000);

  it('refuses an invalid cron job naming the field and stores nothing', async () => {
    await expect(
      client.apply({
        kind: 'CronJob',
        name: 'bad',
        schedule: '61 * * * *',
        timeZone: 'Mars/Olympus',
        job: { command: 'true' },
      } as never),
    ).rejects.toThrow(
      /cronjobs\.bad\.schedule: invalid cron expression.*cronjobs\.bad\.timeZone: expected an IANA time zone/,
    );
    expect(await client.list('CronJob')).toEqual([]);
  });
});
