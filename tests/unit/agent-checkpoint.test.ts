import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import {
  type AgentContext,
  type AgentEvent,
  agentMachine,
  CheckpointError,
  CheckpointStore,
  checkpointDir,
  checkpointOf,
  checkpointOps,
  createAgentContext,
  type RegistrationRequest,
  removeOtherAgents,
  route,
  TaskCheckpoint,
} from '../../actors/agent/index.js';
import { FrameworkInfo, MasterToAgent, type Registered } from '../../protocol/index.js';

const agentId = 'a-1';
const checkpointing = FrameworkInfo.parse({ id: 'f-cp', name: 'cp', checkpoint: true });
const plain = FrameworkInfo.parse({ id: 'f-plain', name: 'plain' });

function fresh(): AgentContext {
  const c = createAgentContext(
    { id: agentId, hostname: 'h', resources: [], attributes: {}, version: '0.1.0' },
    {
      workDir: '/work',
      statusUpdateRetryMs: 2000,
      statusUpdateRetryCapMs: 60_000,
      defaultKillGracePeriodSeconds: 3,
      registrationBackoff: { baseMs: 1000, capMs: 60_000 },
    },
  );
  return { ...c, connected: true };
}

let n = 0;
const uuid = () => `00000000-0000-0000-0000-${String(++n).padStart(12, '0')}`;

const runTask = (framework: FrameworkInfo, taskId: string): AgentEvent => ({
  type: 'MASTER_MESSAGE',
  now: 1000,
  uuid: uuid(),
  msg: MasterToAgent.parse({
    type: 'RUN_TASK',
    framework,
    task: { taskId, name: taskId, agentId, resources: [], command: { value: 'true' } },
  }),
});
const statusUpdate = (framework: FrameworkInfo, taskId: string, state: string, u = uuid()): AgentEvent => ({
  type: 'EXECUTOR_MESSAGE',
  now: 2000,
  msg: {
    type: 'STATUS_UPDATE',
    executorId: taskId,
    frameworkId: framework.id,
    status: { taskId, state: state as 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: u, timestamp: 2000 },
  },
});

/** steps replays events through the routing table and returns every state on the way. */
function steps(events: AgentEvent[], from = fresh()): AgentContext[] {
  const out = [from];
  for (const e of events) out.push(route(out[out.length - 1], e).state);
  return out;
}

describe('what the agent checkpoints of a task', () => {
  it('keeps all of a checkpointing framework’s task: info, status, sandbox, pids and unacknowledged updates', () => {
    const [, launched, spawned, running] = steps([
      runTask(checkpointing, 't1'),
      { type: 'EXECUTOR_SPAWNED', key: 'f-cp/t1', pid: 4242, startTime: '777' },
      statusUpdate(checkpointing, 't1', 'TASK_RUNNING', 'u-running'),
    ]);
    expect(checkpointOf(launched, 'f-cp/t1')).toMatchObject({
      checkpoint: true,
      taskId: 't1',
      executorExited: false,
    });
    expect(checkpointOf(spawned, 'f-cp/t1')).toMatchObject({ executorPid: 4242, executorStartTime: '777' });
    const cp = checkpointOf(running, 'f-cp/t1');
    expect(cp).toMatchObject({
      checkpoint: true,
      framework: { id: 'f-cp', checkpoint: true },
      status: { state: 'TASK_RUNNING', uuid: 'u-running' },
      updates: { seen: ['u-running'], terminal: false },
    });
    expect(cp?.checkpoint && cp.updates.pending.map((u) => u.status.uuid)).toEqual(['u-running']);
    expect(cp?.checkpoint && cp.sandbox).toBe(running.tasks['f-cp/t1'].sandbox);
    // What is written reads back through the schema unchanged.
    expect(TaskCheckpoint.parse(JSON.parse(JSON.stringify(cp)))).toEqual(cp);
  });

  it('keeps only the processes of a task whose framework does not checkpoint, and nothing once its executor is gone', () => {
    const [, , spawned, , exited] = steps([
      runTask(plain, 't1'),
      { type: 'EXECUTOR_SPAWNED', key: 'f-plain/t1', pid: 4242, startTime: '777' },
      statusUpdate(plain, 't1', 'TASK_RUNNING'),
      { type: 'EXECUTOR_EXITED', key: 'f-plain/t1', code: 0, signal: null, now: 3000, uuid: uuid() },
    ]);
    expect(checkpointOf(spawned, 'f-plain/t1')).toEqual({
      version: 1,
      checkpoint: false,
      frameworkId: 'f-plain',
      taskId: 't1',
      executorId: 't1',
      containerId: spawned.tasks['f-plain/t1'].containerId,
      executorPid: 4242,
      executorStartTime: '777',
    });
    expect(exited.tasks['f-plain/t1']).toBeDefined();
    expect(checkpointOf(exited, 'f-plain/t1')).toBeUndefined();
  });
});

describe('checkpointOps: what each step writes and removes', () => {
  it('writes on launch, spawn and every update taken; writes nothing when only a resend counter moved; removes once settled', () => {
    const [start, launched, spawned, running] = steps([
      runTask(checkpointing, 't1'),
      { type: 'EXECUTOR_SPAWNED', key: 'f-cp/t1', pid: 4242, startTime: '777' },
      statusUpdate(checkpointing, 't1', 'TASK_RUNNING', 'u-running'),
    ]);
    const containerId = launched.tasks['f-cp/t1'].containerId;
    expect(checkpointOps(start, launched)).toEqual([
      { op: 'write', containerId, data: checkpointOf(launched, 'f-cp/t1') },
    ]);
    expect(checkpointOps(launched, spawned).map((o) => o.op)).toEqual(['write']);
    expect(checkpointOps(spawned, running).map((o) => o.op)).toEqual(['write']);
    // A resend changes only `retries`: nothing to write.
    const resent = route(running, { type: 'RETRY_UPDATE', key: 'f-cp/t1', uuid: 'u-running' }).state;
    expect(resent).not.toBe(running);
    expect(checkpointOps(running, resent)).toEqual([]);
    expect(checkpointOps(running, running)).toEqual([]);

    const [, acked, finished, exited, done] = steps(
      [
        {
          type: 'MASTER_MESSAGE',
          now: 1,
          uuid: uuid(),
          msg: MasterToAgent.parse({
            type: 'STATUS_UPDATE_ACK',
            frameworkId: 'f-cp',
            taskId: 't1',
            uuid: 'u-running',
          }),
        },
        statusUpdate(checkpointing, 't1', 'TASK_FINISHED', 'u-finished'),
        { type: 'EXECUTOR_EXITED', key: 'f-cp/t1', code: 0, signal: null, now: 3000, uuid: uuid() },
        {
          type: 'MASTER_MESSAGE',
          now: 1,
          uuid: uuid(),
          msg: MasterToAgent.parse({
            type: 'STATUS_UPDATE_ACK',
            frameworkId: 'f-cp',
            taskId: 't1',
            uuid: 'u-finished',
          }),
        },
      ],
      running,
    );
    expect(checkpointOps(running, acked)).toMatchObject([
      { op: 'write', data: { updates: { pending: [] } } },
    ]);
    expect(checkpointOps(acked, finished)).toMatchObject([
      { op: 'write', data: { status: { state: 'TASK_FINISHED' } } },
    ]);
    expect(checkpointOps(finished, exited)).toMatchObject([{ op: 'write', data: { executorExited: true } }]);
    expect(done.tasks['f-cp/t1']).toBeUndefined();
    expect(checkpointOps(exited, done)).toEqual([{ op: 'remove', containerId }]);
  });

  it('writes a non-checkpointing task only when its processes change, and removes it once its executor is gone', () => {
    const [start, launched, spawned, running, exited] = steps([
      runTask(plain, 't1'),
      { type: 'EXECUTOR_SPAWNED', key: 'f-plain/t1', pid: 4242, startTime: '777' },
      statusUpdate(plain, 't1', 'TASK_RUNNING'),
      { type: 'EXECUTOR_EXITED', key: 'f-plain/t1', code: 0, signal: null, now: 3000, uuid: uuid() },
    ]);
    const containerId = launched.tasks['f-plain/t1'].containerId;
    expect(checkpointOps(start, launched).map((o) => o.op)).toEqual(['write']);
    expect(checkpointOps(launched, spawned).map((o) => o.op)).toEqual(['write']);
    expect(checkpointOps(spawned, running)).toEqual([]);
    expect(checkpointOps(running, exited)).toEqual([{ op: 'remove', containerId }]);
  });
});

describe('the agent machine checkpoints before it acts', () => {
  it('writes an executor’s update to the checkpoint before it ACKs the executor or forwards the update', async () => {
    const calls: string[] = [];
    const machine = agentMachine.provide({
      actors: {
        register: fromPromise<Registered, RegistrationRequest>(async () => ({
          agentId,
          masterId: 'm',
          heartbeatIntervalSeconds: 15,
        })),
      },
      actions: {
        sendToMaster: (_, p) => void calls.push(`master:${p.message.type}`),
        sendToExecutor: (_, p) => void calls.push(`executor:${p.message.type}`),
        spawnExecutor: () => void calls.push('spawn'),
        signalProcessGroup: () => {},
        warn: () => {},
        checkpoint: (_, p) => void calls.push(`checkpoint:${p.ops.map((o) => o.op).join(',')}`),
      },
    });
    const actor = createActor(machine, { input: fresh() }).start();
    await new Promise((r) => setTimeout(r, 10));
    actor.send(runTask(checkpointing, 't1'));
    expect(calls.slice(-2)).toEqual(['checkpoint:write', 'spawn']);
    calls.length = 0;
    actor.send(statusUpdate(checkpointing, 't1', 'TASK_RUNNING'));
    expect(calls).toEqual(['checkpoint:write', 'master:STATUS_UPDATE', 'executor:ACK']);
    actor.stop();
  });
});

describe('CheckpointStore', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'mezzo-checkpoint-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const sample = (containerId: string): TaskCheckpoint => ({
    version: 1,
    checkpoint: false,
    frameworkId: 'f1',
    taskId: 't1',
    executorId: 't1',
    containerId,
    executorPid: 10,
  });

  it('writes atomically (no temporary file left), reads back what it wrote, and removes', () => {
    const store = new CheckpointStore(checkpointDir(tmp(), agentId));
    store.write('c1', sample('c1'));
    store.write('c1', { ...sample('c1'), executorPid: 11 });
    store.write('c2', sample('c2'));
    expect(readdirSync(store.dir).sort()).toEqual(['c1.json', 'c2.json']);
    expect(store.readAll()).toEqual({
      checkpoints: [{ ...sample('c1'), executorPid: 11 }, sample('c2')],
      unreadable: [],
    });
    store.apply([
      { op: 'remove', containerId: 'c1' },
      { op: 'remove', containerId: 'never-written' },
    ]);
    expect(store.readAll().checkpoints).toEqual([sample('c2')]);
  });

  it('reports a corrupt file, a file of another schema and a misnamed file as unreadable, and drops temporary files', () => {
    const store = new CheckpointStore(checkpointDir(tmp(), agentId));
    store.write('good', sample('good'));
    writeFileSync(join(store.dir, 'torn.json'), '{"version":1,"check');
    writeFileSync(join(store.dir, 'other.json'), JSON.stringify({ version: 2, hello: 'world' }));
    writeFileSync(join(store.dir, 'misnamed.json'), JSON.stringify(sample('elsewhere')));
    writeFileSync(join(store.dir, '.half.json.tmp'), '{');
    const { checkpoints, unreadable } = store.readAll();
    expect(checkpoints).toEqual([sample('good')]);
    expect(unreadable.map((u) => u.file.split('/').pop()).sort()).toEqual([
      'misnamed.json',
      'other.json',
      'torn.json',
    ]);
    expect(existsSync(join(store.dir, '.half.json.tmp'))).toBe(false);
    // Unreadable files are left for the operator to look at.
    expect(readFileSync(join(store.dir, 'torn.json'), 'utf8')).toBe('{"version":1,"check');
  });

  it('reads nothing from a directory that does not exist, and refuses a container id that is not a plain name', () => {
    const store = new CheckpointStore(join(tmp(), 'nowhere'));
    expect(store.readAll()).toEqual({ checkpoints: [], unreadable: [] });
    expect(() => store.write('../escape', sample('x'))).toThrow(CheckpointError);
    expect(() => store.remove('a/b')).toThrow(CheckpointError);
  });

  it('removes the checkpoints of the work dir’s other agent ids (a reboot) and keeps its own', () => {
    const workDir = tmp();
    for (const id of ['a-old', agentId]) {
      mkdirSync(checkpointDir(workDir, id), { recursive: true });
      new CheckpointStore(checkpointDir(workDir, id)).write('c1', sample('c1'));
    }
    expect(removeOtherAgents(workDir, agentId)).toEqual(['a-old']);
    expect(existsSync(checkpointDir(workDir, 'a-old'))).toBe(false);
    expect(new CheckpointStore(checkpointDir(workDir, agentId)).readAll().checkpoints).toHaveLength(1);
  });
});
