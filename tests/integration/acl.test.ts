import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsBus, RemoteError, silentLogger, withCredentials } from '../../bus/index.js';
import { Operator, Scheduler } from '../../frameworks/sdk/index.js';
import {
  isTerminal,
  OperatorCall,
  type OperatorCall as OperatorCallType,
  OperatorResult,
  resources as R,
  type TaskStatus,
} from '../../protocol/index.js';
import { type CredsFile, parsePolicy, readCreds } from '../../security/index.js';
import { waitFor } from '../support/processes.js';
import { type SecureCluster, startSecureCluster } from './auth-cluster.js';

/** The write calls, each well formed, that a read-only operator must be refused. */
function writeCalls(agentId: string): OperatorCallType[] {
  return [
    { type: 'KILL_TASK', taskId: 'nope' },
    { type: 'TEARDOWN', frameworkId: 'fw-web' },
    { type: 'MARK_AGENT_GONE', agentId },
    { type: 'UPDATE_WEIGHTS', weights: [{ role: 'web', weight: 2 }] },
    { type: 'UPDATE_QUOTA', role: 'web', guarantee: R.parseResources('cpus:1') },
    { type: 'RESERVE_RESOURCES', agentId, resources: R.parseResources('cpus(web):0.5') },
    { type: 'UNRESERVE_RESOURCES', agentId, resources: R.parseResources('cpus(web):0.5') },
  ];
}

describe('authorization inside the master', () => {
  let cluster: SecureCluster;
  let webCreds: CredsFile;
  let viewerBus: NatsBus;
  let opsBus: NatsBus;
  let admin: Operator;

  beforeAll(async () => {
    cluster = await startSecureCluster({
      policy: parsePolicy(
        JSON.stringify({
          rules: {
            UPDATE_QUOTA: [{ principals: ['ops'], objects: 'ANY', allow: false }],
            VIEW_FRAMEWORK: [{ principals: ['viewer'], objects: ['web'], allow: false }],
          },
        }),
      ),
    });
    webCreds = await cluster.issue({
      kind: 'framework',
      name: 'web',
      roles: ['web'],
      frameworkIds: ['fw-web'],
    });
    viewerBus = await cluster.bus(await cluster.issue({ kind: 'operator', name: 'viewer', readonly: true }));
    opsBus = await cluster.bus(await cluster.issue({ kind: 'operator', name: 'ops' }));
    admin = new Operator(await cluster.bus(cluster.admin), cluster.subjects, false, { principal: 'admin' });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('answers a framework asking for a role its principal may not use with a clear error, and no offers', async () => {
    let offers = 0;
    const scheduler = await Scheduler.start({
      nats: await cluster.bus(webCreds),
      framework: { id: 'fw-web', name: 'web', roles: ['web', 'batch'] },
      log: silentLogger,
      handlers: { offers: () => void offers++ },
    });
    await expect(scheduler.subscribed()).rejects.toThrow(
      /web may not REGISTER_FRAMEWORK on "batch".*only roles web/,
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(offers).toBe(0);
    expect((await admin.frameworks()).map((f) => f.id)).not.toContain('fw-web');
    await scheduler.close().catch(() => {});
  });

  it('answers TASK_ERROR with the reason for a task that asks to run as a forbidden user, and runs the others', async () => {
    const updates: TaskStatus[] = [];
    let launched = false;
    const scheduler = await Scheduler.start({
      nats: await cluster.bus(webCreds),
      framework: { id: 'fw-web', name: 'web', roles: ['web'] },
      log: silentLogger,
      handlers: { update: (s) => void updates.push(s) },
    });
    scheduler.on('offers', async (offers) => {
      if (launched) return void (await scheduler.decline(offers.map((o) => o.id)).catch(() => {}));
      launched = true;
      await scheduler.launch(offers[0], [
        {
          taskId: 'as-root',
          name: 'as-root',
          resources: R.parseResources('cpus:0.1;mem:16'),
          command: { value: 'id', user: 'root' },
        },
        {
          taskId: 'as-agent',
          name: 'as-agent',
          resources: R.parseResources('cpus:0.1;mem:16'),
          command: { value: 'true' },
        },
      ]);
    });
    expect((await scheduler.subscribed()).frameworkId).toBe('fw-web');
    await waitFor(
      () =>
        updates.some((u) => u.taskId === 'as-root') &&
        updates.some((u) => u.taskId === 'as-agent' && isTerminal(u.state)),
      20_000,
      'both tasks to be answered',
    );
    const root = updates.find((u) => u.taskId === 'as-root') as TaskStatus;
    expect(root.state).toBe('TASK_ERROR');
    expect(root.reason).toBe('REASON_TASK_UNAUTHORIZED');
    expect(root.message).toMatch(/may not RUN_TASK on "root"/);
    expect(updates.filter((u) => u.taskId === 'as-root')).toHaveLength(1);
    expect(updates.find((u) => u.taskId === 'as-agent' && isTerminal(u.state))?.state).toBe('TASK_FINISHED');
    // The master recorded the framework's principal from its credentials, not from what it claimed.
    expect((await admin.frameworks()).find((f) => f.id === 'fw-web')?.principal).toBe('web');
    await scheduler.close();
  });

  it('refuses every write call of a read-only operator, sent on its read subject, with a clear error', async () => {
    for (const call of writeCalls(cluster.agent.agentId)) {
      const err = await viewerBus
        .request(cluster.subjects.operatorRead('viewer'), OperatorCall, call, OperatorResult[call.type])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err, call.type).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).code).toBe('FORBIDDEN');
      expect((err as RemoteError).message).toContain(`${call.type} changes the cluster`);
    }
    expect((await admin.weights()).weights).toEqual([]);
    expect((await admin.agents())[0].status).toBe('ACTIVE');
  });

  it('never lets a read-only operator reach the write subject at all', async () => {
    const viewer = new Operator(viewerBus, cluster.subjects, false, { principal: 'viewer', timeoutMs: 1500 });
    await expect(viewer.updateWeights({ web: 2 })).rejects.toThrow();
    expect((await admin.weights()).weights).toEqual([]);
  });

  it('refuses a read-write operator what the policy denies, and allows the rest', async () => {
    const ops = new Operator(opsBus, cluster.subjects, false, { principal: 'ops' });
    await expect(ops.updateQuota('web', { guarantee: R.parseResources('cpus:1') })).rejects.toThrow(
      /policy denies ops UPDATE_QUOTA on "web"/,
    );
    expect((await ops.quota()).quotas).toEqual([]);
    expect((await ops.updateWeights({ web: 2 })).weights).toEqual([{ role: 'web', weight: 2 }]);
  });

  it('connects an Operator as the principal a URL with credentials names', async () => {
    const viewerCreds = readCreds(join(cluster.workDir, '..', '..', 'security', 'creds', 'viewer.json'));
    const [url] = withCredentials(cluster.url, viewerCreds.user, viewerCreds.password);
    const op = await Operator.connect({ nats: url });
    try {
      expect((await op.health()).healthy).toBe(true);
      await expect(op.call('MARK_AGENT_GONE', { agentId: cluster.agent.agentId })).rejects.toThrow();
      expect((await admin.agents())[0].status).toBe('ACTIVE');
    } finally {
      await op.close();
    }
  });

  it('hides the frameworks and tasks an operator may not view', async () => {
    const viewer = new Operator(viewerBus, cluster.subjects, false, { principal: 'viewer' });
    expect((await admin.tasks()).some((t) => t.frameworkId === 'fw-web')).toBe(true);
    expect((await viewer.tasks()).some((t) => t.frameworkId === 'fw-web')).toBe(false);
    expect((await viewer.frameworks()).some((f) => f.id === 'fw-web')).toBe(false);
    expect((await viewer.state()).tasks.some((t) => t.frameworkId === 'fw-web')).toBe(false);
  });
});
