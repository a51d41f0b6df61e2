import { existsSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, silentLogger } from '../../bus/index.js';
import { Operator, Scheduler } from '../../frameworks/sdk/index.js';
import { isTerminal, resources as R, type TaskStatus } from '../../protocol/index.js';
import { waitFor } from '../support/processes.js';
import { connectRaw, type SecureCluster, startSecureCluster } from './auth-cluster.js';
import { CANARY, type FuzzCase, fuzzCases } from './fuzz-cases.js';

/** Cases per subject; FUZZ_CASES and FUZZ_SEED replay or deepen a run. */
const CASES = Number(process.env.FUZZ_CASES ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261129);

/** The codes a refused call may carry: each one a clear, expected refusal, never INTERNAL. */
const CLEAR = ['BAD_REQUEST', 'TOO_LARGE', 'NOT_FOUND', 'CONFLICT', 'FORBIDDEN'];

const task = {
  taskId: 't-1',
  name: 't',
  resources: [{ name: 'cpus', scalar: 0.1 }],
  command: { value: 'true' },
};
const status = {
  taskId: 't-1',
  state: 'TASK_RUNNING',
  source: 'AGENT',
  agentId: 'a-fuzz',
  uuid: 'u-1',
  timestamp: 1,
};
const agentInfo = {
  id: 'a-fuzz',
  hostname: 'fuzz',
  resources: [{ name: 'cpus', scalar: 1 }],
  attributes: { rack: 'a' },
  version: '0.1.0',
};

/** Valid messages per edge, which the fuzzer breaks one place at a time. */
const SEEDS = {
  scheduler: [
    { type: 'SUBSCRIBE', framework: { id: 'fw-web', name: 'web', roles: ['web'] }, session: 's-1' },
    {
      type: 'ACCEPT',
      offerIds: ['o-1'],
      operations: [{ type: 'LAUNCH', tasks: [task] }],
      filters: { refuseSeconds: 5 },
    },
    {
      type: 'ACCEPT',
      offerIds: ['o-1'],
      operations: [{ type: 'RESERVE', resources: [{ name: 'cpus', scalar: 1, role: 'web' }] }],
    },
    { type: 'DECLINE', offerIds: ['o-1'], filters: { refuseSeconds: 1 } },
    { type: 'REVIVE', roles: ['web'] },
    { type: 'SUPPRESS', roles: ['web'] },
    { type: 'KILL', taskId: 't-1', killPolicy: { gracePeriodSeconds: 1 } },
    { type: 'ACKNOWLEDGE', agentId: 'a-fuzz', taskId: 't-1', uuid: 'u-1' },
    { type: 'RECONCILE', tasks: [{ taskId: 't-1', agentId: 'a-fuzz' }] },
    { type: 'HEARTBEAT' },
  ],
  masterAgent: [
    { type: 'REGISTER', agent: agentInfo, tasks: [{ frameworkId: 'fw-x', task, status }], frameworks: [] },
    { type: 'HEARTBEAT' },
    { type: 'STATUS_UPDATE', update: { frameworkId: 'fw-x', status } },
    { type: 'STATUS_UPDATES', updates: [{ frameworkId: 'fw-x', status }] },
  ],
  operator: [
    { type: 'GET_STATE' },
    { type: 'GET_STATE', tasksAs: 'table', agentsAs: 'table', tasksFrom: 0, maxTasks: 100 },
    { type: 'GET_TASKS', frameworkId: 'fw-none' },
    { type: 'GET_TASKS', tasksAs: 'table', maxTasks: 100 },
    { type: 'KILL_TASK', taskId: 't-none', frameworkId: 'fw-none' },
    { type: 'TEARDOWN', frameworkId: 'fw-none' },
    { type: 'MARK_AGENT_GONE', agentId: 'a-none' },
    { type: 'UPDATE_WEIGHTS', weights: [{ role: 'web', weight: 2 }] },
    {
      type: 'UPDATE_QUOTA',
      role: 'web',
      guarantee: [{ name: 'cpus', scalar: 0.5 }],
      limit: [{ name: 'cpus', scalar: 1 }],
    },
    { type: 'RESERVE_RESOURCES', agentId: 'a-none', resources: [{ name: 'cpus', scalar: 1, role: 'web' }] },
    { type: 'GET_CONTAINERS', agentId: 'a-none' },
  ],
  agentControl: [
    { type: 'KILL_TASK', frameworkId: 'fw-x', taskId: 't-1', killPolicy: { gracePeriodSeconds: 0 } },
    { type: 'SHUTDOWN_FRAMEWORK', frameworkId: 'fw-x' },
    { type: 'STATUS_UPDATE_ACK', frameworkId: 'fw-x', taskId: 't-1', uuid: 'u-1' },
  ],
  agentExecutors: [
    { type: 'REGISTER', executorId: 'e-1', frameworkId: 'fw-x', taskId: 't-1', pid: 1 },
    { type: 'STATUS_UPDATE', executorId: 'e-1', frameworkId: 'fw-x', status },
  ],
  agentOperator: [{ type: 'GET_CONTAINERS', frameworkId: 'fw-x' }],
};

/** Tally counts what came back for a subject's cases, and keeps the first few surprises. */
interface Tally {
  replies: Map<string, number>;
  surprises: string[];
}

/** sendRequests sends every case as a request, many in flight at once, and classifies each answer. */
async function sendRequests(nc: NatsConnection, subject: string, cases: FuzzCase[]): Promise<Tally> {
  const tally: Tally = { replies: new Map(), surprises: [] };
  const note = (key: string, c: FuzzCase, detail = '') => {
    tally.replies.set(key, (tally.replies.get(key) ?? 0) + 1);
    if (!key.startsWith('ok') && !CLEAR.includes(key) && tally.surprises.length < 5) {
      tally.surprises.push(`${key} for a ${c.kind} case of ${c.payload.length} bytes: ${detail}`);
    }
  };
  for (let i = 0; i < cases.length; i += 250) {
    await Promise.all(
      cases.slice(i, i + 250).map(async (c) => {
        try {
          const reply = await nc.request(subject, c.payload, { timeout: 30_000 });
          const body = decode(reply.data, Number.MAX_SAFE_INTEGER) as {
            ok?: boolean;
            error?: { code?: string; message?: string };
          };
          if (body?.ok === true) return note('ok', c);
          if (
            body?.ok === false &&
            typeof body.error?.message === 'string' &&
            body.error.message.length > 0
          ) {
            return note(String(body.error.code), c, body.error.message);
          }
          note('malformed reply', c, JSON.stringify(body).slice(0, 200));
        } catch (err) {
          note('no reply', c, (err as Error).message);
        }
      }),
    );
  }
  return tally;
}

describe('fuzzing every subject the master and the agent listen on', () => {
  let cluster: SecureCluster;
  let attacker: NatsConnection;
  let admin: Operator;

  beforeAll(async () => {
    cluster = await startSecureCluster();
    await cluster.issue({ kind: 'framework', name: 'web', roles: ['web'], frameworkIds: ['fw-web'] });
    await cluster.issue({ kind: 'operator', name: 'viewer', readonly: true });
    // The master's own credentials may publish anywhere: the worst an insider could send.
    attacker = await connectRaw(cluster.url, cluster.masterCreds);
    admin = new Operator(await cluster.bus(cluster.admin), cluster.subjects, false, { principal: 'admin' });
  }, 60_000);
  afterAll(async () => {
    await attacker?.close();
    await cluster?.stop();
  });

  /** consistent checks what must hold after any input: a valid, self-consistent view of the cluster. */
  async function expectConsistent() {
    expect((await admin.health()).healthy).toBe(true);
    const state = await admin.state(); // validated against StateView by the client
    const agentIds = new Set(state.agents.map((a) => a.id));
    for (const a of state.agents) {
      expect(R.contains(a.total, a.used), `agent ${a.id} uses more than it has`).toBe(true);
      expect(R.contains(a.total, a.offered), `agent ${a.id} offers more than it has`).toBe(true);
    }
    for (const t of state.tasks)
      expect(agentIds.has(t.agentId), `task ${t.taskId} on an unknown agent`).toBe(true);
    expect(state.agents.find((a) => a.id === cluster.agent.agentId)?.status).toBe('ACTIVE');
    expect(existsSync(CANARY), 'a shell-looking string was run').toBe(false);
  }

  const requestSubjects: [string, () => string, keyof typeof SEEDS][] = [
    ['a framework calls on', () => cluster.subjects.scheduler('fw-web'), 'scheduler'],
    ['an unbound framework id calls on', () => cluster.subjects.scheduler('fw-other'), 'scheduler'],
    ['an agent registers on', () => cluster.subjects.masterAgent('a-fuzz'), 'masterAgent'],
    ['the real agent speaks on', () => cluster.subjects.masterAgent(cluster.agent.agentId), 'masterAgent'],
    ['an operator writes on', () => cluster.subjects.operatorWrite('admin'), 'operator'],
    ['a read-only operator reads on', () => cluster.subjects.operatorRead('viewer'), 'operator'],
    ['an old client sends operator calls on', () => cluster.subjects.operator(), 'operator'],
    [
      'the master asks the agent on',
      () => cluster.subjects.agentOperator(cluster.agent.agentId),
      'agentOperator',
    ],
  ];

  it.each(requestSubjects)(
    `answers ${CASES} hostile requests to the subject %s with clear errors, and stays consistent`,
    async (_what, subjectOf, edge) => {
      const subject = subjectOf();
      const cases = fuzzCases(SEEDS[edge], CASES, SEED + subject.length);
      const tally = await sendRequests(attacker, subject, cases);
      expect(tally.surprises, `seed ${SEED}: ${[...tally.replies].join(' ')}`).toEqual([]);
      expect([...tally.replies.values()].reduce((a, b) => a + b, 0)).toBe(cases.length);
      // Some mutated messages were still valid, so the fuzzer reached the handlers, not only the schema.
      const pastSchema = [...tally.replies].filter(
        ([code]) => code !== 'BAD_REQUEST' && code !== 'TOO_LARGE',
      );
      expect(pastSchema.length, [...tally.replies].join(' ')).toBeGreaterThan(0);
      await expectConsistent();
    },
    180_000,
  );

  it.each([
    ['control', () => cluster.subjects.agent(cluster.agent.agentId), 'agentControl'],
    ['executors', () => cluster.subjects.agentExecutors(cluster.agent.agentId), 'agentExecutors'],
  ] as [string, () => string, keyof typeof SEEDS][])(
    `drops ${CASES} hostile messages on the agent's %s subject and keeps serving`,
    async (_what, subjectOf, edge) => {
      const subject = subjectOf();
      for (const c of fuzzCases(SEEDS[edge], CASES, SEED + subject.length))
        attacker.publish(subject, c.payload);
      await attacker.flush();
      // The agent still answers, after everything sent before this request.
      const r = await attacker.request(
        cluster.subjects.agentOperator(cluster.agent.agentId),
        new Uint8Array(),
        {
          timeout: 60_000,
        },
      );
      expect((decode(r.data, Number.MAX_SAFE_INTEGER) as { ok: boolean }).ok).toBe(false);
      await expectConsistent();
    },
    180_000,
  );

  it('still runs a real framework and task to completion afterwards', async () => {
    // Frameworks the fuzzer subscribed hold offers, as any idle framework would: tear them down.
    for (const f of await admin.frameworks()) if (f.status !== 'REMOVED') await admin.teardown(f.id);
    const updates: TaskStatus[] = [];
    let launched = false;
    const scheduler = await Scheduler.start({
      nats: await cluster.bus(cluster.admin, 'after-fuzz'),
      framework: { name: 'after-fuzz', roles: ['*'] },
      log: silentLogger,
      handlers: { update: (s) => void updates.push(s) },
    });
    scheduler.on('offers', async (offers) => {
      // Agents the fuzzer registered are offered too, but nothing runs there.
      const real = offers.find((o) => o.agentId === cluster.agent.agentId);
      if (launched || !real) return;
      launched = true;
      await scheduler.launch(real, [
        {
          taskId: 'after',
          name: 'after',
          resources: R.parseResources('cpus:0.1;mem:16'),
          command: { value: 'true' },
        },
      ]);
    });
    await scheduler.subscribed();
    await waitFor(() => updates.some((u) => isTerminal(u.state)), 30_000, 'the task after the fuzz to end');
    expect(updates.find((u) => isTerminal(u.state))?.state).toBe('TASK_FINISHED');
    await scheduler.close();
    await expectConsistent();
  }, 60_000);
});
