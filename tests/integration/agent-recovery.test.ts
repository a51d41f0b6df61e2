import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { checkpointDir, ENDED_WHILE_DOWN } from '../../actors/agent/index.js';
import { type MasterHandle, startMaster } from '../../actors/master/index.js';
import { silentLogger } from '../../bus/index.js';
import { Scheduler } from '../../frameworks/sdk/index.js';
import { subjects as makeSubjects, resources as R, Reason, type TaskStatus } from '../../protocol/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';
import { alive, waitFor } from '../support/processes.js';

const MEZZO = resolve('dist/cli/main.js');

/** An agent as a real process: `mezzo agent`, with its output kept. */
interface AgentProcess {
  child: ChildProcess;
  out: () => string;
  /** The id in its `mezzo agent <id> registered` line, once it registered. */
  registeredId: () => string | undefined;
}

function startAgentProcess(
  nats: TestNats,
  workDir: string,
  data: string,
  extra: string[] = [],
): AgentProcess {
  const child = spawn(
    process.execPath,
    [
      MEZZO,
      'agent',
      '--nats',
      nats.url,
      '--prefix',
      nats.prefix,
      '--work-dir',
      workDir,
      '--resources',
      'cpus:4;mem:1024;disk:1024;ports:[31000-31009]',
      ...extra,
    ],
    {
      env: { ...process.env, MEZZO_DATA: data, MEZZO_NATS_URL: '', MEZZO_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return {
    child,
    out: () => out,
    registeredId: () => /mezzo agent (\S+) registered/.exec(out)?.[1],
  };
}

async function exited(child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error('the agent did not exit')), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
  });
}

/** A task that writes its pid into its sandbox, then runs until a file appears (and exits 0), or forever. */
function task(id: string, until?: string) {
  const wait = until ? `while [ ! -f ${until} ]; do sleep 0.1; done` : 'while true; do sleep 0.2; done';
  return {
    taskId: id,
    name: id,
    resources: R.parseResources('cpus:0.1;mem:32'),
    command: { value: `echo $$ > "$MEZZO_SANDBOX/pid"; ${wait}` },
  };
}

/** taskPid reads the pid a task wrote into its sandbox. */
function taskPid(workDir: string, frameworkId: string, taskId: string): number | undefined {
  const runs = join(workDir, 'frameworks', frameworkId, 'executors', taskId, 'runs');
  if (!existsSync(runs)) return undefined;
  for (const run of readdirSync(runs)) {
    const file = join(runs, run, 'pid');
    if (existsSync(file)) {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return pid;
    }
  }
  return undefined;
}

/** cgroupOf is `/proc/<pid>/cgroup`: the cgroups a process is in. */
function cgroupOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8');
}

/** executorPidOf reads a task's executor pid from the agent's checkpoint. */
function executorPidOf(workDir: string, agentId: string, taskId: string): number | undefined {
  const dir = checkpointDir(workDir, agentId);
  for (const name of readdirSync(dir)) {
    // Skip a write in flight (`.<containerId>.json.tmp`).
    if (name.startsWith('.') || !name.endsWith('.json')) continue;
    const cp = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    if (cp.taskId === taskId) return cp.executorPid;
  }
  return undefined;
}

/** A framework of the test's own on the SDK, recording every update it gets. */
async function startFramework(
  nats: TestNats,
  name: string,
  checkpoint: boolean,
  tasks: ReturnType<typeof task>[],
  autoAcknowledge = true,
) {
  const updates: TaskStatus[] = [];
  let launched = false;
  const scheduler = await Scheduler.start({
    nats: await nats.bus(name),
    prefix: nats.prefix,
    framework: { name, checkpoint, failoverTimeoutSeconds: 300 },
    autoAcknowledge,
    log: silentLogger,
  });
  scheduler.on('update', (s) => void updates.push(s));
  scheduler.on('offers', async (offers) => {
    for (const offer of offers) {
      if (launched) {
        await scheduler.decline([offer.id]).catch(() => {});
        continue;
      }
      launched = true;
      await scheduler.launch(offer, tasks);
    }
  });
  await scheduler.subscribed();
  /** states are one task's states as the framework saw them, each uuid once (updates carry one). */
  const states = (taskId: string) => {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const u of updates) {
      if (u.taskId !== taskId || !u.uuid || seen.has(u.uuid)) continue;
      seen.add(u.uuid);
      out.push(u.state);
    }
    return out;
  };
  const latest = (taskId: string) => updates.filter((u) => u.taskId === taskId && u.uuid).at(-1);
  return { scheduler, updates, states, latest };
}

describe('agent checkpointing and recovery, with real agent processes killed by SIGKILL', () => {
  let nats: TestNats;
  let master: MasterHandle;
  const dirs: string[] = [];
  const agents: AgentProcess[] = [];
  /** Every task pid seen, so nothing is left behind whatever happens. */
  const taskPids: number[] = [];
  const tmp = (name: string) => {
    const d = mkdtempSync(join(tmpdir(), `mezzo-recovery-${name}-`));
    dirs.push(d);
    return d;
  };
  const agent = (workDir: string, extra: string[] = []) => {
    const a = startAgentProcess(nats, workDir, tmp('data'), extra);
    agents.push(a);
    return a;
  };

  beforeAll(async () => {
    nats = await startTestNats();
    master = await startMaster({
      bus: await nats.bus('master'),
      subjects: makeSubjects(nats.prefix),
      log: silentLogger,
      // Agents are down for a while in these tests, longer on a loaded machine: never let the
      // master take them for unreachable meanwhile (that would make their tasks TASK_LOST).
      config: { allocationIntervalMs: 100, agentPingTimeoutSeconds: 2, maxAgentPingTimeouts: 90 },
    });
  });

  // What the agents said helps to tell a slow machine from a bug.
  beforeEach(() => {
    const before = agents.length;
    onTestFailed(() => {
      for (const a of agents.slice(before))
        console.error(`--- agent ${a.child.pid}\n${a.out().slice(-8000)}`);
    });
  });

  // A test that failed half-way must not leave its agent to take the next test's tasks.
  afterEach(async () => {
    for (const a of agents) {
      if (a.child.exitCode !== null || a.child.signalCode !== null) continue;
      a.child.kill('SIGTERM');
      await exited(a.child).catch(() => a.child.kill('SIGKILL'));
    }
  });

  afterAll(async () => {
    for (const a of agents) {
      if (a.child.exitCode === null && a.child.signalCode === null) {
        a.child.kill('SIGTERM');
        await exited(a.child).catch(() => a.child.kill('SIGKILL'));
      }
    }
    for (const pid of taskPids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
    }
    await master.stop();
    await nats.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('keeps a checkpointing framework’s tasks running through an agent SIGKILL, and reports the one that finished meanwhile', async () => {
    const workDir = tmp('work');
    const go = join(tmp('signal'), 'go');
    const first = agent(workDir);
    await waitFor(
      () => first.registeredId() !== undefined,
      60_000,
      `the agent to register; got ${first.out()} (exit ${first.child.exitCode})`,
    );
    const agentId = first.registeredId();

    const fw = await startFramework(nats, 'checkpointing', true, [
      task('long-1'),
      task('long-2'),
      task('short', go),
    ]);
    const frameworkId = fw.scheduler.frameworkId;
    for (const id of ['long-1', 'long-2', 'short'])
      await waitFor(() => fw.states(id).includes('TASK_RUNNING'), 60_000, `${id} to run`);
    const pids: Record<string, number> = {};
    for (const id of ['long-1', 'long-2', 'short']) {
      await waitFor(() => taskPid(workDir, frameworkId, id) !== undefined, 10_000, `${id}'s pid`);
      pids[id] = taskPid(workDir, frameworkId, id) as number;
      taskPids.push(pids[id]);
    }
    // The agent keeps one checkpoint per task.
    await waitFor(
      () => readdirSync(checkpointDir(workDir, agentId as string)).length === 3,
      10_000,
      'three task checkpoints',
    );

    // Where the kernel has each long task: its container's cgroups, if the host has them.
    const cgroups = { 'long-1': cgroupOf(pids['long-1']), 'long-2': cgroupOf(pids['long-2']) };
    first.child.kill('SIGKILL');
    await exited(first.child);
    // The short task finishes while no agent runs; its executor keeps its TASK_FINISHED.
    writeFileSync(go, '');
    await waitFor(() => !alive(pids.short), 15_000, 'the short task to end');
    expect(fw.states('short')).not.toContain('TASK_FINISHED');

    // A reattached executor that did not REGISTER again within 3 s would be killed.
    const second = agent(workDir, ['--executor-reregistration-timeout', '3']);
    await waitFor(
      () => second.registeredId() !== undefined,
      60_000,
      `the agent to register again; got ${second.out()} (exit ${second.child.exitCode})`,
    );
    expect(second.registeredId()).toBe(agentId);
    await waitFor(
      () => fw.states('short').includes('TASK_FINISHED'),
      60_000,
      'TASK_FINISHED of the short task',
    );

    // The long tasks were never interrupted: the same processes run, and the master has them RUNNING.
    // (Past the re-registration timeout: their executors answered RECONNECT.)
    await new Promise((r) => setTimeout(r, 4000));
    expect(second.out()).not.toContain('did not register again in time');
    expect(alive(pids['long-1'])).toBe(true);
    expect(alive(pids['long-2'])).toBe(true);
    // Their containers were taken back, not cleaned up as orphans: same cgroups as before.
    expect(cgroupOf(pids['long-1'])).toBe(cgroups['long-1']);
    expect(cgroupOf(pids['long-2'])).toBe(cgroups['long-2']);
    const tasks = master.state().tasks;
    expect(tasks.find((t) => t.taskId === 'long-1')).toMatchObject({ state: 'TASK_RUNNING', agentId });
    expect(tasks.find((t) => t.taskId === 'long-2')).toMatchObject({ state: 'TASK_RUNNING', agentId });

    // The restarted agent still controls them: a kill goes through the reattached executor.
    await fw.scheduler.kill('long-1');
    await waitFor(() => fw.states('long-1').includes('TASK_KILLED'), 60_000, 'long-1 killed');
    await waitFor(() => !alive(pids['long-1']), 10_000, 'long-1 to be gone');

    // Every state exactly once after dedup by uuid, in order.
    expect(fw.states('short')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    expect(fw.latest('short')?.source).toBe('SOURCE_EXECUTOR');
    expect(fw.states('long-1')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED']);
    expect(fw.states('long-2')).toEqual(['TASK_STARTING', 'TASK_RUNNING']);

    second.child.kill('SIGTERM');
    await exited(second.child);
    await waitFor(() => fw.states('long-2').includes('TASK_KILLED'), 10_000, 'long-2 killed at stop');
    expect(alive(pids['long-2'])).toBe(false);
    await fw.scheduler.teardown();
  }, 240_000);

  it('kills a non-checkpointing framework’s task on restart, resends an unacknowledged update from the checkpoint, and reports a reattached executor’s death', async () => {
    const workDir = tmp('work');
    const first = agent(workDir);
    await waitFor(
      () => first.registeredId() !== undefined,
      60_000,
      `the agent to register; got ${first.out()} (exit ${first.child.exitCode})`,
    );
    const agentId = first.registeredId() as string;

    const plain = await startFramework(nats, 'plain', false, [task('plain-1')]);
    const held = await startFramework(nats, 'held', true, [task('held-1')], false);
    await waitFor(() => plain.states('plain-1').includes('TASK_RUNNING'), 60_000, 'plain-1 to run');
    await waitFor(
      () => taskPid(workDir, held.scheduler.frameworkId, 'held-1') !== undefined,
      60_000,
      'held-1 to start',
    );
    // The held framework never acknowledges: its TASK_STARTING stays at the head of the agent's queue.
    await waitFor(() => held.states('held-1').includes('TASK_STARTING'), 60_000, 'held-1 STARTING');
    const starting = held.latest('held-1');
    await waitFor(
      () => taskPid(workDir, plain.scheduler.frameworkId, 'plain-1') !== undefined,
      10_000,
      'plain-1 pid',
    );
    const plainPid = taskPid(workDir, plain.scheduler.frameworkId, 'plain-1') as number;
    const heldPid = taskPid(workDir, held.scheduler.frameworkId, 'held-1') as number;
    taskPids.push(plainPid, heldPid);

    first.child.kill('SIGKILL');
    await exited(first.child);
    const before = held.updates.length;
    const second = agent(workDir);
    await waitFor(
      () => second.registeredId() === agentId,
      60_000,
      `the agent to register again; got ${second.out()} (exit ${second.child.exitCode})`,
    );

    // The non-checkpointing framework's task is killed, and the master reports it lost.
    await waitFor(() => !alive(plainPid), 15_000, 'plain-1 to be killed');
    await waitFor(
      () => plain.updates.some((u) => u.taskId === 'plain-1' && u.state === 'TASK_LOST'),
      15_000,
      'TASK_LOST',
    );
    expect(plain.updates.find((u) => u.state === 'TASK_LOST')?.reason).toBe(Reason.AGENT_RESTARTED);

    // The unacknowledged TASK_STARTING comes again with its uuid, from the restarted agent's checkpoint.
    await waitFor(
      () => held.updates.slice(before).some((u) => u.uuid === starting?.uuid),
      60_000,
      'STARTING resent',
    );
    expect(alive(heldPid)).toBe(true);
    await held.scheduler.acknowledge(starting as TaskStatus);
    await waitFor(
      () => held.states('held-1').includes('TASK_RUNNING'),
      60_000,
      'held-1 RUNNING after the ack',
    );
    await held.scheduler.acknowledge(held.latest('held-1') as TaskStatus);

    // The reattached executor dies: the agent, no longer its parent, notices and fails the task.
    const executorPid = executorPidOf(workDir, agentId, 'held-1');
    expect(executorPid).toBeGreaterThan(1);
    process.kill(executorPid as number, 'SIGKILL');
    await waitFor(() => held.states('held-1').includes('TASK_FAILED'), 60_000, 'held-1 FAILED');
    expect(held.latest('held-1')).toMatchObject({
      reason: Reason.EXECUTOR_TERMINATED,
      source: 'SOURCE_AGENT',
    });
    // Nothing of the task outlives its executor.
    await waitFor(() => !alive(heldPid), 10_000, 'held-1 task process to be killed');
    expect(held.states('held-1')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED']);
    await held.scheduler.acknowledge(held.latest('held-1') as TaskStatus);

    second.child.kill('SIGTERM');
    await exited(second.child);
    await plain.scheduler.teardown();
    await held.scheduler.teardown();
  }, 240_000);

  it('fails a checkpointing task whose executor died while the agent was down, killing what is left of it', async () => {
    const workDir = tmp('work');
    const first = agent(workDir);
    await waitFor(
      () => first.registeredId() !== undefined,
      60_000,
      `the agent to register; got ${first.out()} (exit ${first.child.exitCode})`,
    );
    const agentId = first.registeredId() as string;
    const fw = await startFramework(nats, 'orphaned', true, [task('orphan')]);
    await waitFor(() => fw.states('orphan').includes('TASK_RUNNING'), 60_000, 'orphan to run');
    await waitFor(
      () => taskPid(workDir, fw.scheduler.frameworkId, 'orphan') !== undefined,
      10_000,
      "orphan's pid",
    );
    const pid = taskPid(workDir, fw.scheduler.frameworkId, 'orphan') as number;
    taskPids.push(pid);
    const executorPid = executorPidOf(workDir, agentId, 'orphan') as number;

    first.child.kill('SIGKILL');
    await exited(first.child);
    process.kill(executorPid, 'SIGKILL');
    await waitFor(() => !alive(executorPid), 10_000, 'the executor to die');
    // The task itself, in its own process group, still runs: the agent will kill it.
    expect(alive(pid)).toBe(true);

    const second = agent(workDir);
    await waitFor(
      () => second.registeredId() === agentId,
      60_000,
      `the agent to register again; got ${second.out()} (exit ${second.child.exitCode})`,
    );
    await waitFor(() => fw.states('orphan').includes('TASK_FAILED'), 60_000, 'orphan FAILED');
    expect(fw.latest('orphan')).toMatchObject({
      reason: Reason.EXECUTOR_TERMINATED,
      source: 'SOURCE_AGENT',
      message: ENDED_WHILE_DOWN,
    });
    await waitFor(() => !alive(pid), 10_000, 'the task process to be killed');
    expect(fw.states('orphan')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED']);
    second.child.kill('SIGTERM');
    await exited(second.child);
    await fw.scheduler.teardown();
  }, 240_000);

  it('kills a reattached executor that does not register again in time, and fails its task', async () => {
    const workDir = tmp('work');
    const first = agent(workDir);
    await waitFor(
      () => first.registeredId() !== undefined,
      60_000,
      `the agent to register; got ${first.out()} (exit ${first.child.exitCode})`,
    );
    const agentId = first.registeredId() as string;
    const fw = await startFramework(nats, 'frozen', true, [task('frozen')]);
    await waitFor(() => fw.states('frozen').includes('TASK_RUNNING'), 60_000, 'frozen to run');
    await waitFor(
      () => taskPid(workDir, fw.scheduler.frameworkId, 'frozen') !== undefined,
      10_000,
      'its pid',
    );
    const pid = taskPid(workDir, fw.scheduler.frameworkId, 'frozen') as number;
    taskPids.push(pid);
    const executorPid = executorPidOf(workDir, agentId, 'frozen') as number;

    first.child.kill('SIGKILL');
    await exited(first.child);
    // A stopped executor is alive (same pid and start time) but cannot answer RECONNECT.
    process.kill(executorPid, 'SIGSTOP');
    const second = agent(workDir, ['--executor-reregistration-timeout', '2']);
    await waitFor(
      () => second.registeredId() === agentId,
      60_000,
      `the agent to register again; got ${second.out()} (exit ${second.child.exitCode})`,
    );
    await waitFor(() => fw.states('frozen').includes('TASK_FAILED'), 60_000, 'frozen FAILED');
    expect(fw.latest('frozen')).toMatchObject({ reason: Reason.EXECUTOR_TERMINATED, source: 'SOURCE_AGENT' });
    expect(second.out()).toContain('did not register again in time');
    await waitFor(() => !alive(executorPid) && !alive(pid), 10_000, 'the executor and its task to be killed');
    second.child.kill('SIGTERM');
    await exited(second.child);
    await fw.scheduler.teardown();
  }, 240_000);

  it('with --recover cleanup kills every task of the previous run, checkpointing or not, and starts with none', async () => {
    const workDir = tmp('work');
    const first = agent(workDir);
    await waitFor(
      () => first.registeredId() !== undefined,
      60_000,
      `the agent to register; got ${first.out()} (exit ${first.child.exitCode})`,
    );
    const agentId = first.registeredId() as string;
    const fw = await startFramework(nats, 'cleaned', true, [task('doomed')]);
    await waitFor(() => fw.states('doomed').includes('TASK_RUNNING'), 60_000, 'doomed to run');
    await waitFor(
      () => taskPid(workDir, fw.scheduler.frameworkId, 'doomed') !== undefined,
      10_000,
      "doomed's pid",
    );
    const pid = taskPid(workDir, fw.scheduler.frameworkId, 'doomed') as number;
    taskPids.push(pid);

    first.child.kill('SIGKILL');
    await exited(first.child);
    const second = agent(workDir, ['--recover', 'cleanup']);
    await waitFor(
      () => second.registeredId() === agentId,
      60_000,
      `the agent to register again; got ${second.out()} (exit ${second.child.exitCode})`,
    );
    await waitFor(() => !alive(pid), 15_000, 'the task to be killed');
    await waitFor(
      () => fw.updates.some((u) => u.taskId === 'doomed' && u.state === 'TASK_LOST'),
      15_000,
      'TASK_LOST',
    );
    // The agent took nothing back, so nothing about the task came from it: the loss is the master's word.
    expect(fw.states('doomed')).toEqual(['TASK_STARTING', 'TASK_RUNNING']);
    expect(fw.updates.find((u) => u.state === 'TASK_LOST')?.reason).toBe(Reason.AGENT_RESTARTED);
    expect(readdirSync(checkpointDir(workDir, agentId))).toEqual([]);
    second.child.kill('SIGTERM');
    await exited(second.child);
    await fw.scheduler.teardown();
  }, 240_000);
});
