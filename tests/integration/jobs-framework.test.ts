import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appsSubject } from '../../frameworks/apps/api.js';
import { AppsClient } from '../../frameworks/apps/client.js';
import { startJobsFramework } from '../../frameworks/jobs/index.js';
import { waitFor } from '../support/apps.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';

describe('jobs framework on a real master and agent', () => {
  let cluster: TestCluster;
  let stopJobs: (() => Promise<void>) | undefined;
  let client: AppsClient;

  beforeEach(async () => {
    cluster = await startTestCluster();
    const bus = await cluster.nats.bus('jobs');
    const jobs = await startJobsFramework({ bus, prefix: cluster.nats.prefix });
    stopJobs = () => jobs.stop();
    client = new AppsClient(await cluster.nats.bus('client'), cluster.nats.prefix);
  });
  afterEach(async () => {
    await stopJobs?.();
    await cluster.stop();
  });

  it('runs 5 completions 2 at a time and succeeds when each first try fails and its retry passes', async () => {
    await client.apply({
      kind: 'Job',
      name: 'flaky',
      // Each completion fails on attempt 0 and succeeds on attempt 1.
      command: '[ "$JOB_ATTEMPT" -ge 1 ]',
      completions: 5,
      parallelism: 2,
      retries: 1,
      backoff: { backoffSeconds: 0.1 },
    });
    let maxActive = 0;
    const view = await waitFor(
      async () => {
        const v = await client.get('Job', 'flaky');
        maxActive = Math.max(maxActive, v.active);
        return v.phase !== 'Running' ? v : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(view.phase).toBe('Succeeded');
    expect(view.succeeded).toBe(5);
    expect(view.failed).toBe(5);
    expect(maxActive).toBeLessThanOrEqual(2);
    expect(view.tasks).toHaveLength(10);
  }, 90_000);

  it('fails a job whose command always fails once its retries are spent, with the last reason', async () => {
    await client.apply({
      kind: 'Job',
      name: 'doomed',
      command: 'echo boom >&2; exit 3',
      retries: 2,
      backoff: { backoffSeconds: 0.1 },
    });
    const view = await waitFor(
      async () => {
        const v = await client.get('Job', 'doomed');
        return v.phase !== 'Running' ? v : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(view.phase).toBe('Failed');
    expect(view.failed).toBe(3);
    expect(view.tasks).toHaveLength(3);
    expect(view.lastFailure).toMatch(/TASK_FAILED.*exit code 3/);
    expect(view.reason).toMatch(/failed 3 time\(s\), retries 2/);
  }, 90_000);

  it('survives its own restart mid-job: same framework, no task launched twice, the job completes', async () => {
    await client.apply({ kind: 'Job', name: 'steady', command: 'sleep 1', completions: 3 });
    const first = await waitFor(
      async () => {
        const v = await client.get('Job', 'steady');
        return v.tasks.some((t) => t.state === 'TASK_RUNNING') ? v : undefined;
      },
      { timeoutMs: 30_000, what: 'the first task running' },
    );
    await stopJobs?.();
    const again = await startJobsFramework({
      bus: await cluster.nats.bus('jobs-2'),
      prefix: cluster.nats.prefix,
    });
    stopJobs = () => again.stop();
    expect(again.host.scheduler.frameworkId).toBe(first.frameworkId);
    const done = await waitFor(
      async () => {
        const v = await client.get('Job', 'steady');
        return v.phase !== 'Running' ? v : undefined;
      },
      { timeoutMs: 60_000, what: 'the job to end' },
    );
    expect(done.phase).toBe('Succeeded');
    expect(done.tasks.map((t) => `${t.index}/${t.attempt}`).sort()).toEqual(['0/0', '1/0', '2/0']);
  }, 90_000);

  it('answers malformed and unsupported requests with a clear error and stays up', async () => {
    const bus = await cluster.nats.bus('hostile');
    const subject = appsSubject(cluster.nats.prefix, 'Job');
    await expect(bus.request(subject, z.unknown(), { type: 'NOPE' }, z.unknown())).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(
      bus.request(subject, z.unknown(), { type: 'GET', name: 'Not A Name' }, z.unknown()),
    ).rejects.toThrow(/name:/);
    await expect(
      bus.request(subject, z.unknown(), { type: 'SCALE', name: 'x', instances: 2 }, z.unknown()),
    ).rejects.toThrow(/jobs cannot scale; only services can/);
    await expect(client.get('Job', 'missing')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'job missing not found',
    });
    await client.apply({ kind: 'Job', name: 'after', command: 'true' });
    expect((await client.get('Job', 'after')).name).toBe('after');
  }, 60_000);

  it('refuses an invalid job naming the field, and a changed spec for an existing job', async () => {
    await expect(
      client.apply({ kind: 'Job', name: 'bad', command: 'true', completions: 0 } as never),
    ).rejects.toThrow(/jobs\.bad\.completions: expected a positive integer/);
    expect(await client.list('Job')).toEqual([]);
    await client.apply({ kind: 'Job', name: 'once', command: 'true' });
    await expect(client.apply({ kind: 'Job', name: 'once', command: 'false' })).rejects.toThrow(
      /already exists with a different spec/,
    );
    expect((await client.get('Job', 'once')).spec.command).toBe('true');
  }, 60_000);
});
