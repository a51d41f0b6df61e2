import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentHandle } from '../../actors/agent/index.js';
import type { MasterHandle } from '../../actors/master/index.js';
import { silentLogger } from '../../bus/index.js';
import { Scheduler } from '../../frameworks/sdk/index.js';
import { isTerminal, resources as R, type TaskStatus } from '../../protocol/index.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import type { TestNats } from '../support/nats.js';
import { waitFor } from '../support/processes.js';

describe('a framework on the SDK against a real master and agent', () => {
  let nats: TestNats;
  let master: MasterHandle;
  let agent: AgentHandle;
  let workDir: string;
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster();
    ({ nats, master, agent, workDir } = cluster);
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('goes from SUBSCRIBE to TASK_FINISHED, acknowledging every update, with the output streamed', async () => {
    const updates: TaskStatus[] = [];
    let output = '';
    let launched = false;
    const scheduler = await Scheduler.start({
      nats: await nats.bus('framework'),
      prefix: nats.prefix,
      framework: { name: 'sdk-test', roles: ['*'] },
      log: silentLogger,
    });
    scheduler.on('update', (s) => void updates.push(s));
    scheduler.on('offers', async (offers) => {
      for (const offer of offers) {
        if (launched) {
          await scheduler.decline([offer.id]);
          continue;
        }
        launched = true;
        await scheduler.launch(offer, [
          {
            taskId: 'hello',
            name: 'hello',
            resources: R.parseResources('cpus:0.5;mem:64'),
            command: { value: 'echo hello from a task' },
          },
        ]);
      }
    });
    const unfollow = scheduler.followOutput('hello', (chunk) => {
      output += Buffer.from(chunk.data).toString();
    });
    await scheduler.subscribed();
    await waitFor(() => updates.some((u) => isTerminal(u.state)), 15_000, 'a terminal update');
    expect(updates.map((u) => u.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    // Each update carried a uuid, and the agent forwards the next only after the ack of the one
    // before: three distinct updates arriving proves the first two were acknowledged.
    expect(new Set(updates.map((u) => u.uuid)).size).toBe(3);
    await waitFor(() => output === 'hello from a task\n', 5000, 'the task output');
    // The last acknowledgement drains the agent's queue: no resend arrives afterwards.
    await new Promise((r) => setTimeout(r, 2500));
    expect(updates).toHaveLength(3);
    const task = master.state().tasks.find((t) => t.taskId === 'hello');
    expect(task).toMatchObject({ state: 'TASK_FINISHED', agentId: agent.agentId });
    expect(master.state().agents[0].used).toEqual([]);
    const sandboxes = join(workDir, 'frameworks', scheduler.frameworkId, 'executors', 'hello', 'runs');
    const [run] = (await import('node:fs')).readdirSync(sandboxes);
    expect(readFileSync(join(sandboxes, run, 'stdout'), 'utf8')).toBe('hello from a task\n');
    unfollow();
    await scheduler.teardown();
  });

  it('hands a framework over to a second scheduler with its id; the first gets ERROR and closes', async () => {
    const first = await Scheduler.start({
      nats: await nats.bus('first'),
      prefix: nats.prefix,
      framework: { name: 'takeover', failoverTimeoutSeconds: 60 },
      log: silentLogger,
    });
    await first.subscribed();
    const errors: string[] = [];
    first.on('error', (m) => void errors.push(m));
    const second = await Scheduler.start({
      nats: await nats.bus('second'),
      prefix: nats.prefix,
      framework: { id: first.frameworkId, name: 'takeover', failoverTimeoutSeconds: 60 },
      log: silentLogger,
    });
    const secondErrors: string[] = [];
    second.on('error', (m) => void secondErrors.push(m));
    await second.subscribed();
    await expect(first.closed()).resolves.toContain('taken over');
    expect(errors).toEqual([expect.stringContaining('taken over')]);
    await second.revive();
    expect(secondErrors).toEqual([]);
    expect(master.state().frameworks.find((f) => f.id === second.frameworkId)?.status).toBe('CONNECTED');
    await second.teardown();
  });
});
