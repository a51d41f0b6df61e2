import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AgentConfig, type AgentHandle, startAgent } from '../../actors/agent/index.js';
import { type NatsBus, silentLogger } from '../../bus/index.js';
import {
  AgentToMaster,
  ExecutorToAgent,
  FrameworkInfo,
  MasterToAgent,
  type MasterToAgentInput,
  subjects as makeSubjects,
  type StatusUpdate,
  type Subjects,
  type TaskInfoInput,
  TaskOutput,
} from '../../protocol/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';
import { alive, waitFor } from '../support/processes.js';

/** inbox gathers validated messages and lets a test wait for one that matches. */
function inbox<T>() {
  const got: T[] = [];
  const waiters: { pred: (m: T) => boolean; resolve: (m: T) => void }[] = [];
  return {
    got,
    push(m: T) {
      got.push(m);
      for (const w of [...waiters]) {
        if (w.pred(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    },
    next(pred: (m: T) => boolean, timeoutMs = 10_000, what = 'a message') {
      return new Promise<T>((resolve, reject) => {
        const hit = got.find(pred);
        if (hit) return resolve(hit);
        const t = setTimeout(
          () => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(got)}`)),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (m) => {
            clearTimeout(t);
            resolve(m);
          },
        });
      });
    },
  };
}

/**
 * FakeMaster plays the master by hand: it answers REGISTER, records everything agents say, and
 * acknowledges status updates only when told to (or always, with autoAck).
 */
class FakeMaster {
  readonly registrations = inbox<Extract<AgentToMaster, { type: 'REGISTER' }>>();
  readonly updates = inbox<StatusUpdate>();
  readonly other = inbox<AgentToMaster>();
  autoAck = false;
  heartbeatIntervalSeconds = 15;

  constructor(
    private readonly bus: NatsBus,
    private readonly s: Subjects,
  ) {
    bus.serve(s.masterAgentAll(), AgentToMaster, (msg, ctx) => {
      const agentId = ctx.subject.slice(ctx.subject.lastIndexOf('.') + 1);
      if (msg.type === 'REGISTER') {
        this.registrations.push(msg);
        return { agentId, masterId: 'fake-master', heartbeatIntervalSeconds: this.heartbeatIntervalSeconds };
      }
      if (msg.type === 'STATUS_UPDATE') {
        this.updates.push(msg.update);
        if (this.autoAck) this.ack(msg.update);
      } else {
        this.other.push(msg);
      }
      return {};
    });
  }

  tell(agentId: string, msg: MasterToAgentInput): void {
    this.bus.publish(this.s.agent(agentId), MasterToAgent, msg);
  }

  ack(update: StatusUpdate): void {
    this.tell(update.status.agentId, {
      type: 'STATUS_UPDATE_ACK',
      frameworkId: update.frameworkId,
      taskId: update.status.taskId,
      uuid: update.status.uuid,
    });
  }

  /** updatesOf lists what arrived for one task, resends included. */
  updatesOf(taskId: string): StatusUpdate[] {
    return this.updates.got.filter((u) => u.status.taskId === taskId);
  }
}

const framework = FrameworkInfo.parse({ id: 'fw-test', name: 'agent tests' });

describe('the agent and its command executors over NATS', () => {
  let nats: TestNats;
  let s: Subjects;
  let bus: NatsBus;
  let master: FakeMaster;
  const agents: AgentHandle[] = [];
  const dirs: string[] = [];
  let taskCounter = 0;

  beforeAll(async () => {
    nats = await startTestNats();
    s = makeSubjects(nats.prefix);
    bus = await nats.bus('fake-master');
    master = new FakeMaster(bus, s);
    await bus.flush();
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    master.autoAck = false;
    master.heartbeatIntervalSeconds = 15;
  });
  afterAll(async () => {
    await nats.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function agent(config: Partial<AgentConfig> = {}): Promise<AgentHandle & { workDir: string }> {
    const workDir = config.workDir ?? mkdtempSync(join(tmpdir(), 'mezzo-agent-'));
    dirs.push(workDir);
    const a = await startAgent({
      bus: await nats.bus('agent'),
      subjects: s,
      log: silentLogger,
      config: {
        resources: 'cpus:2;mem:1024;disk:1024;ports:[31000-31009]',
        natsUrl: nats.url,
        statusUpdateRetryMs: 300,
        registrationBackoff: { baseMs: 50, capMs: 200 },
        defaultKillGracePeriodSeconds: 1,
        ...config,
        workDir,
      },
    });
    agents.push(a);
    await a.registered();
    return Object.assign(a, { workDir });
  }

  function run(
    agentId: string,
    command: TaskInfoInput['command'],
    extra: Partial<TaskInfoInput> = {},
  ): string {
    const taskId = `t-${++taskCounter}`;
    master.tell(agentId, {
      type: 'RUN_TASK',
      framework,
      task: { taskId, name: taskId, agentId, resources: [{ name: 'cpus', scalar: 0.1 }], command, ...extra },
    });
    return taskId;
  }

  /** taskPid snoops the executor's REGISTER, which carries the task's pid. */
  function taskPids() {
    const pids = inbox<{ taskId: string; pid: number }>();
    return {
      pids,
      watch(agentId: string) {
        bus.listen(s.agentExecutors(agentId), ExecutorToAgent, (m) => {
          if (m.type === 'REGISTER') pids.push({ taskId: m.taskId, pid: m.pid });
        });
        return bus.flush();
      },
    };
  }

  it('registers with its resources, a stable id and no tasks', async () => {
    const a = await agent();
    const reg = await master.registrations.next((r) => r.agent.id === a.agentId);
    expect(reg.agent.resources).toEqual([
      { name: 'cpus', scalar: 2 },
      { name: 'disk', scalar: 1024 },
      { name: 'mem', scalar: 1024 },
      { name: 'ports', ranges: [[31000, 31009]] },
    ]);
    expect(reg.tasks).toEqual([]);
    expect(JSON.parse(readFileSync(join(a.workDir, 'meta', 'agent.json'), 'utf8')).agentId).toBe(a.agentId);
  });

  it('runs echo hello: STARTING, RUNNING, FINISHED one at a time, each only after the previous is acked, with a retry of an unacked head', async () => {
    const a = await agent();
    const taskId = `t-${taskCounter + 1}`;
    const output = inbox<TaskOutput>();
    bus.listen(s.taskOutput(framework.id, taskId), TaskOutput, (m) => output.push(m));
    await bus.flush();
    expect(run(a.agentId, { value: 'echo hello' })).toBe(taskId);

    const starting = await master.updates.next((u) => u.status.taskId === taskId, 10_000, 'TASK_STARTING');
    expect(starting.status).toMatchObject({
      state: 'TASK_STARTING',
      source: 'SOURCE_EXECUTOR',
      agentId: a.agentId,
      executorId: taskId,
    });
    // The task finishes at once, but nothing else is forwarded while the head is unacknowledged;
    // the head itself is resent after statusUpdateRetryMs.
    await waitFor(() => master.updatesOf(taskId).length >= 2, 5000, 'a resend of the head');
    expect(master.updatesOf(taskId).every((u) => u.status.uuid === starting.status.uuid)).toBe(true);

    master.ack(starting);
    const running = await master.updates.next(
      (u) => u.status.taskId === taskId && u.status.state !== 'TASK_STARTING',
    );
    expect(running.status.state).toBe('TASK_RUNNING');
    await new Promise((r) => setTimeout(r, 100));
    expect(master.updatesOf(taskId).some((u) => u.status.state === 'TASK_FINISHED')).toBe(false);

    master.ack(running);
    const finished = await master.updates.next(
      (u) => u.status.taskId === taskId && u.status.state === 'TASK_FINISHED',
    );
    expect(finished.status).toMatchObject({ exitCode: 0, message: 'Command exited with status 0' });
    master.ack(finished);

    expect(
      master
        .updatesOf(taskId)
        .map((u) => u.status.state)
        .filter((st, i, all) => st !== all[i - 1]),
    ).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    await output.next((o) => o.stream === 'stdout' && o.eof, 5000, 'stdout eof');
    await output.next((o) => o.stream === 'stderr' && o.eof, 5000, 'stderr eof');
    const stdout = output.got.filter((o) => o.stream === 'stdout' && !o.eof);
    expect(Buffer.concat(stdout.map((o) => o.data)).toString()).toBe('hello\n');
    expect(stdout[0].seq).toBe(0);

    const sandboxes = join(a.workDir, 'frameworks', framework.id, 'executors', taskId, 'runs');
    await waitFor(() => existsSync(sandboxes), 1000, 'the sandbox');
  });

  it('reports a non-zero exit as TASK_FAILED with its exit code', async () => {
    master.autoAck = true;
    const a = await agent();
    const taskId = run(a.agentId, { value: 'exit 7' });
    const failed = await master.updates.next(
      (u) => u.status.taskId === taskId && u.status.state === 'TASK_FAILED',
    );
    expect(failed.status).toMatchObject({
      exitCode: 7,
      message: 'Command exited with status 7',
      source: 'SOURCE_EXECUTOR',
    });
  });

  it('kills a running sleep on KILL_TASK: TASK_KILLED and the sleep is gone', async () => {
    master.autoAck = true;
    const a = await agent();
    const snoop = taskPids();
    await snoop.watch(a.agentId);
    const taskId = run(a.agentId, { shell: false, argv: ['sleep', '60'] });
    await master.updates.next((u) => u.status.taskId === taskId && u.status.state === 'TASK_RUNNING');
    const { pid } = await snoop.pids.next((p) => p.taskId === taskId);
    expect(alive(pid)).toBe(true);

    master.tell(a.agentId, {
      type: 'KILL_TASK',
      frameworkId: framework.id,
      taskId,
      killPolicy: { gracePeriodSeconds: 1 },
    });
    const killed = await master.updates.next(
      (u) => u.status.taskId === taskId && u.status.state === 'TASK_KILLED',
    );
    expect(killed.status).toMatchObject({ source: 'SOURCE_EXECUTOR', signal: 'SIGTERM' });
    expect(alive(pid)).toBe(false);
  });

  it('stops leaving no process behind: the running sleep and its executor are gone when stop() resolves', async () => {
    master.autoAck = true;
    const a = await agent({ defaultKillGracePeriodSeconds: 0.5 });
    const snoop = taskPids();
    await snoop.watch(a.agentId);
    const taskId = run(a.agentId, { value: 'sleep 60' });
    await master.updates.next((u) => u.status.taskId === taskId && u.status.state === 'TASK_RUNNING');
    const { pid } = await snoop.pids.next((p) => p.taskId === taskId);
    const executorPid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    expect(alive(executorPid)).toBe(true);

    const t0 = Date.now();
    await a.stop();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(alive(pid)).toBe(false);
    expect(alive(executorPid)).toBe(false);
    expect(master.updatesOf(taskId).some((u) => u.status.state === 'TASK_KILLED')).toBe(true);
    await master.other.next((m) => m.type === 'UNREGISTER', 2000, 'UNREGISTER');
    await a.stop(); // idempotent
  });

  it('answers KILL_TASK of an unknown task with TASK_LOST (REASON_TASK_UNKNOWN) that waits for its ack', async () => {
    const a = await agent();
    master.tell(a.agentId, { type: 'KILL_TASK', frameworkId: framework.id, taskId: 'no-such-task' });
    const lost = await master.updates.next((u) => u.status.taskId === 'no-such-task');
    expect(lost.status).toMatchObject({
      state: 'TASK_LOST',
      reason: 'REASON_TASK_UNKNOWN',
      source: 'SOURCE_AGENT',
      agentId: a.agentId,
    });
    expect(lost.status.uuid).toBeTruthy();
    master.ack(lost);
  });

  it('fails a task whose command does not exist, with a clear message', async () => {
    master.autoAck = true;
    const a = await agent();
    const taskId = run(a.agentId, { shell: false, argv: ['no-such-command-mezzo'] });
    const failed = await master.updates.next(
      (u) => u.status.taskId === taskId && u.status.state === 'TASK_FAILED',
    );
    expect(failed.status.message).toMatch(/no-such-command-mezzo.*ENOENT/);
  });

  it('reports TASK_FAILED (REASON_EXECUTOR_TERMINATED) when an executor dies without a terminal update', async () => {
    master.autoAck = true;
    const a = await agent({ executorCommand: [process.execPath, '-e', 'process.exit(3)'] });
    const taskId = run(a.agentId, { value: 'true' });
    const failed = await master.updates.next((u) => u.status.taskId === taskId);
    expect(failed.status).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_EXECUTOR_TERMINATED',
      source: 'SOURCE_AGENT',
      message: 'Executor exited with status 3',
    });
  });

  it('reports TASK_FAILED (REASON_CONTAINER_LAUNCH_FAILED) when the executor cannot be spawned', async () => {
    master.autoAck = true;
    const a = await agent({ executorCommand: ['/no/such/executor'] });
    const taskId = run(a.agentId, { value: 'true' });
    const failed = await master.updates.next((u) => u.status.taskId === taskId);
    expect(failed.status).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      source: 'SOURCE_AGENT',
    });
  });

  it('heartbeats at the interval the master gives, and re-registers with its tasks on REREGISTER', async () => {
    master.autoAck = true;
    master.heartbeatIntervalSeconds = 0.1;
    const a = await agent();
    const before = master.other.got.filter((m) => m.type === 'HEARTBEAT').length;
    await waitFor(
      () => master.other.got.filter((m) => m.type === 'HEARTBEAT').length >= before + 2,
      3000,
      'heartbeats',
    );

    const taskId = run(a.agentId, { value: 'sleep 60' });
    await master.updates.next((u) => u.status.taskId === taskId && u.status.state === 'TASK_RUNNING');
    const count = master.registrations.got.length;
    master.tell(a.agentId, { type: 'REREGISTER' });
    await waitFor(
      () => master.registrations.got.slice(count).some((r) => r.agent.id === a.agentId),
      5000,
      're-registration',
    );
    const again = master.registrations.got.slice(count).find((r) => r.agent.id === a.agentId);
    expect(again?.tasks).toMatchObject([
      { frameworkId: framework.id, task: { taskId }, status: { state: 'TASK_RUNNING' } },
    ]);
    expect(again?.frameworks.map((f) => f.id)).toEqual([framework.id]);
  });

  it('keeps its id across restarts on the same work dir', async () => {
    const first = await agent();
    await first.stop();
    const second = await agent({ workDir: first.workDir });
    expect(second.agentId).toBe(first.agentId);
  });

  it('keeps retrying registration until a master answers', async () => {
    const other = makeSubjects(`${nats.prefix}_late`);
    const workDir = mkdtempSync(join(tmpdir(), 'mezzo-agent-'));
    dirs.push(workDir);
    const a = await startAgent({
      bus: await nats.bus('agent-late'),
      subjects: other,
      log: silentLogger,
      config: { workDir, natsUrl: nats.url, registrationBackoff: { baseMs: 20, capMs: 100 } },
    });
    agents.push(a);
    await new Promise((r) => setTimeout(r, 300));
    const lateBus = await nats.bus('late-master');
    const late = new FakeMaster(lateBus, other);
    await lateBus.flush();
    await a.registered();
    expect(late.registrations.got.length).toBeGreaterThanOrEqual(1);
  });
});
