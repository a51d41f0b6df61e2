import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../bus/index.js';
import { main } from '../../cli/index.js';
import { Operator, Scheduler } from '../../frameworks/sdk/index.js';
import { IsolatorName } from '../../isolation/index.js';
import { resources as R, type TaskStatus } from '../../protocol/index.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/processes.js';

function capture() {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    ({
      write: (s: string | Uint8Array) => {
        add(String(s));
        return true;
      },
    }) as unknown as NodeJS.WritableStream;
  return {
    streams: { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) },
    out: () => out,
    err: () => err,
  };
}

describe('resource statistics over the wire (GET_CONTAINERS, mezzo top)', () => {
  let cluster: TestCluster;
  let scheduler: Scheduler;
  let op: Operator;
  const updates: TaskStatus[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster({ agent: { cgroupsEnableCfs: true } });
    op = new Operator(await cluster.nats.bus('operator'), cluster.subjects);
    scheduler = await Scheduler.start({
      nats: await cluster.nats.bus('framework'),
      prefix: cluster.nats.prefix,
      framework: { name: 'stats-test', roles: ['*'] },
      log: silentLogger,
    });
    scheduler.on('update', (s) => void updates.push(s));
    let launched = false;
    scheduler.on('offers', async (offers) => {
      for (const offer of offers) {
        if (launched) {
          await scheduler.decline([offer.id]);
          continue;
        }
        launched = true;
        await scheduler.launch(offer, [
          {
            taskId: 'busy',
            name: 'busy',
            resources: R.parseResources('cpus:0.2;mem:64'),
            command: { value: 'while :; do :; done' },
          },
          {
            taskId: 'idle',
            name: 'idle',
            resources: R.parseResources('cpus:0.1;mem:32'),
            command: { value: 'sleep 60' },
          },
        ]);
      }
    });
    await scheduler.subscribed();
    await waitFor(
      () => ['busy', 'idle'].every((t) => updates.some((u) => u.taskId === t && u.state === 'TASK_RUNNING')),
      20_000,
      'both tasks running',
    );
  }, 40_000);

  afterAll(async () => {
    await scheduler?.teardown().catch(() => {});
    await cluster?.stop();
  });

  it('the master gathers each live container with its statistics from the agent', async () => {
    const view = await op.containers();
    expect(view.unanswered).toEqual([]);
    const byTask = new Map(view.containers.map((c) => [c.taskId, c]));
    expect([...byTask.keys()].sort()).toEqual(['busy', 'idle']);
    const busy = byTask.get('busy');
    expect(busy).toMatchObject({ agentId: cluster.agent.agentId, containerizer: 'mesos' });
    expect(busy?.statistics.processes).toBeGreaterThanOrEqual(1);
    expect(busy?.statistics.memRssBytes).toBeGreaterThanOrEqual(0);
    expect(busy?.statistics.timestamp).toBeGreaterThan(Date.now() / 1000 - 60);
    if (cluster.agent.isolation.on.includes(IsolatorName.CGROUPS_MEM))
      expect(busy?.statistics.memLimitBytes).toBe(64 * 1024 * 1024);

    const one = await op.containers({ agentId: cluster.agent.agentId, frameworkId: 'nobody' });
    expect(one.containers).toEqual([]);
    await expect(op.containers({ agentId: 'no-such-agent' })).rejects.toThrow(/unknown/);
  });

  it('mezzo top shows the busy task using about its 0.2 cpus (CFS) and the idle one about none', async () => {
    const c = capture();
    const code = await main(
      [
        'node',
        'mezzo',
        'top',
        '--nats',
        cluster.nats.url,
        '--prefix',
        cluster.nats.prefix,
        '-n',
        '1',
        '-i',
        '3',
        '--json',
      ],
      c.streams,
    );
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    const frame = JSON.parse(c.out().trim()) as { containers: { taskId: string; cpus?: number }[] };
    const cpus = (t: string) => frame.containers.find((r) => r.taskId === t)?.cpus;
    if (cluster.agent.isolation.on.includes(IsolatorName.CGROUPS_CPU)) {
      expect(cpus('busy')).toBeGreaterThan(0.15);
      expect(cpus('busy')).toBeLessThan(0.25);
    } else {
      expect(cpus('busy')).toBeGreaterThan(0.5); // posix measures but cannot cap
    }
    expect(cpus('idle')).toBeLessThan(0.05);
  }, 20_000);

  it('mezzo top names an unknown agent as an error', async () => {
    const c = capture();
    const code = await main(
      [
        'node',
        'mezzo',
        'top',
        '--nats',
        cluster.nats.url,
        '--prefix',
        cluster.nats.prefix,
        '--agent',
        'ghost',
        '-n',
        '1',
      ],
      c.streams,
    );
    expect(code).not.toBe(0);
    expect(c.err()).toMatch(/agent ghost is unknown/);
  });
});
