import { describe, expect, it } from 'vitest';
import { decode, encode, type IntakeVerdict, silentLogger, WorkerIntake } from '../../bus/index.js';
import {
  AgentToMaster,
  type AgentToMasterInput,
  subjects as makeSubjects,
  resources as R,
} from '../../protocol/index.js';
import { waitFor } from '../support/processes.js';
import { testScope } from '../support/scope.js';

const scope = testScope();

type RegisterInput = Extract<AgentToMasterInput, { type: 'REGISTER' }> & { extra: string };

/** A REGISTER as an agent would send it: defaults left out, and one key no schema knows. */
function register(agentId: string, tasks: number): RegisterInput {
  return {
    type: 'REGISTER',
    extra: 'stripped by zod',
    agent: {
      id: agentId,
      hostname: `h-${agentId}`,
      resources: R.parseResources('cpus:8;mem:8192'),
      version: '1',
    },
    tasks: Array.from({ length: tasks }, (_, k) => ({
      frameworkId: 'f-1',
      task: {
        taskId: `${agentId}-t${k}`,
        name: 'sleeper',
        agentId,
        resources: R.parseResources('cpus:0.1;mem:32'),
        command: { value: 'sleep 1d' },
      },
      status: {
        taskId: `${agentId}-t${k}`,
        state: 'TASK_RUNNING',
        source: 'SOURCE_EXECUTOR',
        timestamp: 1000,
      },
    })),
    frameworks: [{ id: 'f-1', name: 'f-1' }],
  };
}

function statusUpdate(agentId: string, k: number): AgentToMasterInput {
  return {
    type: 'STATUS_UPDATE',
    update: {
      frameworkId: 'f-1',
      status: {
        taskId: `${agentId}-t${k}`,
        agentId,
        state: 'TASK_FINISHED',
        source: 'SOURCE_EXECUTOR',
        uuid: `u-${agentId}-${k}`,
        timestamp: 2000,
      },
    },
  };
}

async function readyIntake(minBytes: number): Promise<WorkerIntake> {
  const intake = new WorkerIntake({ schemaName: 'AgentToMaster', workers: 1, minBytes, log: silentLogger });
  scope.defer(() => intake.close());
  intake.prestart();
  await waitFor(() => intake.stats().workersReady === 1, 20_000, 'the intake worker');
  return intake;
}

describe('agent messages through the worker intake', () => {
  it('reach the handler validated by AgentToMaster, each agent’s in the order it sent them', async () => {
    const nats = await scope.startNats();
    const server = await nats.bus('master');
    const client = await nats.bus('agents');
    const intake = await readyIntake(1024);
    const seen = new Map<string, AgentToMaster[]>();
    server.serve(
      `${nats.prefix}.master.agent.*`,
      AgentToMaster,
      (msg, ctx) => {
        const id = ctx.subject.slice(ctx.subject.lastIndexOf('.') + 1);
        seen.set(id, [...(seen.get(id) ?? []), msg]);
        return {};
      },
      { intake },
    );
    await server.flush();
    const agents = Array.from({ length: 20 }, (_, i) => `a-${i}`);
    const sent = new Map<string, (AgentToMasterInput & { extra?: string })[]>();
    // Interleaved and unawaited: each agent's large REGISTER (to the worker), then small messages
    // that must not overtake it, then another large one.
    for (const id of agents) sent.set(id, [register(id, 10), statusUpdate(id, 0), { type: 'HEARTBEAT' }]);
    for (let step = 0; step < 3; step++)
      for (const id of agents)
        client.nc.publish(`${nats.prefix}.master.agent.${id}`, encode(sent.get(id)?.[step]));
    for (const id of agents) {
      const again = register(id, 12);
      sent.get(id)?.push(again);
      client.nc.publish(`${nats.prefix}.master.agent.${id}`, encode(again));
    }
    await client.flush();
    await waitFor(
      () => agents.every((id) => (seen.get(id)?.length ?? 0) === 4),
      20_000,
      'every message handled',
    );
    for (const id of agents) {
      const got = seen.get(id) ?? [];
      expect(got.map((m) => m.type)).toEqual(['REGISTER', 'STATUS_UPDATE', 'HEARTBEAT', 'REGISTER']);
      // Exactly zod's output: defaults filled in, the unknown key gone.
      expect(got).toEqual(sent.get(id)?.map((m) => AgentToMaster.parse(m)));
      expect(got[0]).not.toHaveProperty('extra');
      expect((got[0] as Extract<AgentToMaster, { type: 'REGISTER' }>).agent.attributes).toEqual({});
    }
    const stats = intake.stats();
    // Both REGISTERs of each agent went to the worker, and so did the small messages queued behind one.
    expect(stats.offThread).toBeGreaterThanOrEqual(agents.length * 2);
    expect(stats.inline + stats.offThread).toBe(agents.length * 4);
  });

  it('answers a malformed, mistyped or oversize message with a clear error and never calls the handler', async () => {
    const nats = await scope.startNats();
    const server = await nats.bus('master');
    const client = await nats.bus('agents');
    const intake = await readyIntake(64);
    let handled = 0;
    server.serve(
      `${nats.prefix}.master.agent.*`,
      AgentToMaster,
      () => {
        handled++;
        return {};
      },
      { intake },
    );
    await server.flush();
    const raw = async (payload: Uint8Array) =>
      decode(
        (await client.nc.request(`${nats.prefix}.master.agent.a-1`, payload, { timeout: 10_000 })).data,
      ) as {
        ok: boolean;
        error?: { code: string; message: string };
      };
    const badTask = register('a-1', 3);
    (badTask.tasks ?? [])[1].task.taskId = 'no.dots.allowed';
    const invalid = await raw(encode(badTask));
    expect(invalid.error?.code).toBe('BAD_REQUEST');
    expect(invalid.error?.message).toMatch(/tasks\.1\.task\.taskId/);
    const garbage = new Uint8Array(200).fill(0xc1);
    expect((await raw(garbage)).error).toMatchObject({ code: 'BAD_REQUEST', message: /not valid msgpack/ });
    expect((await raw(encode({ type: 'NOPE', pad: 'x'.repeat(100) }))).error?.code).toBe('BAD_REQUEST');
    const oversize = await raw(new Uint8Array(2 * 1024 * 1024));
    expect(oversize.error).toMatchObject({
      code: 'TOO_LARGE',
      message: /exceeds the limit of 1048576 bytes/,
    });
    expect(handled).toBe(0);
    expect(intake.stats().offThread).toBeGreaterThanOrEqual(3);
    // And it keeps serving.
    expect((await raw(encode(register('a-1', 3)))).ok).toBe(true);
    expect(handled).toBe(1);
  });

  it('answers what a closing intake still held with UNAVAILABLE, and parses on the calling thread after', async () => {
    const intake = await readyIntake(64);
    const verdicts: IntakeVerdict[] = [];
    const bytes = encode(register('a-1', 5));
    for (let i = 0; i < 5; i++) intake.submit('agent.a-1', bytes, 1 << 20, (v) => verdicts.push(v));
    await intake.close();
    expect(verdicts).toHaveLength(5);
    for (const v of verdicts) expect(v).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    let after: IntakeVerdict | undefined;
    intake.submit('agent.a-1', bytes, 1 << 20, (v) => {
      after = v;
    });
    expect(after).toMatchObject({ ok: true, value: { type: 'REGISTER' } });
  });

  it('answers what a worker that died still held with UNAVAILABLE, and parses on the calling thread from then on', async () => {
    const intake = await readyIntake(64);
    const verdicts: IntakeVerdict[] = [];
    const bytes = encode(register('a-1', 5));
    for (let i = 0; i < 5; i++) intake.submit('agent.a-1', bytes, 1 << 20, (v) => verdicts.push(v));
    // The worker is killed from outside (as an out-of-memory or a crash would end it).
    const lanes = (intake as unknown as { lanes: { worker?: { terminate(): Promise<number> } }[] }).lanes;
    await lanes[0].worker?.terminate();
    await waitFor(() => verdicts.length === 5, 10_000, 'the held messages answered');
    for (const v of verdicts) expect(v).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(intake.stats().workersReady).toBe(0);
    let after: IntakeVerdict | undefined;
    intake.submit('agent.a-1', bytes, 1 << 20, (v) => {
      after = v;
    });
    expect(after).toMatchObject({ ok: true, value: { type: 'REGISTER' } });
  });

  it('lets a master take REGISTERs and status updates through the worker, and refuse bad ones changing nothing', async () => {
    const nats = await scope.startNats();
    const subjects = makeSubjects(nats.prefix);
    const master = await scope.startMaster(nats, { agentIntake: { workers: 1, minBytes: 1 } });
    const agent = await nats.bus('agent');
    const ask = async (id: string, msg: unknown) =>
      decode((await agent.nc.request(subjects.masterAgent(id), encode(msg), { timeout: 10_000 })).data) as {
        ok: boolean;
        error?: { code: string; message: string };
      };
    const bad = register('a-bad', 2);
    bad.agent.resources = [{ name: 'cpus', type: 'SCALAR', scalar: -4 }] as never;
    const refused = await ask('a-bad', bad);
    expect(refused.ok).toBe(false);
    expect(refused.error?.code).toBe('BAD_REQUEST');
    expect(master.state().agents).toHaveLength(0);

    expect((await ask('a-1', register('a-1', 3))).ok).toBe(true);
    agent.nc.publish(subjects.masterAgent('a-1'), encode(statusUpdate('a-1', 1)));
    await agent.flush();
    await waitFor(
      () => master.state().tasks.some((t) => t.taskId === 'a-1-t1' && t.state === 'TASK_FINISHED'),
      10_000,
      'the status update applied',
    );
    expect(master.state().agents.map((a) => a.id)).toEqual(['a-1']);
  });
});
