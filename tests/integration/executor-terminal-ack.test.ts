import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ExecutorEnv,
  RECOVERY_TIMEOUT_ENV,
  TASK_FILE,
  type TaskFileInput,
} from '../../actors/executor/index.js';
import type { NatsBus } from '../../bus/index.js';
import {
  AgentToExecutor,
  ExecutorToAgent,
  subjects as makeSubjects,
  type Subjects,
  type TaskStatus,
} from '../../protocol/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';
import { alive, waitFor } from '../support/processes.js';

const EXECUTOR_MAIN = 'dist/actors/executor/main.js';
/** The executor's give-up time in these tests (ms): short, so that a wrongly given-up wait shows fast. */
const GIVE_UP_MS = 1500;

/**
 * The test plays the agent for one real executor process: it hears the executor's updates and
 * acknowledges them when it chooses, as a loaded agent does late.
 */
describe('a command executor whose terminal update waits for the agent', () => {
  let nats: TestNats;
  let s: Subjects;
  let bus: NatsBus;
  let counter = 0;
  const dirs: string[] = [];
  const pids: number[] = [];

  beforeAll(async () => {
    nats = await startTestNats();
    s = makeSubjects(nats.prefix);
    bus = await nats.bus('playing-agent');
  });
  afterEach(() => {
    for (const pid of pids.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  });
  afterAll(async () => {
    await nats.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** prepare writes a sandbox whose task runs `command`, and listens to what its executor says. */
  async function prepare(command: string) {
    const agentId = `agent-${process.pid}-${++counter}`;
    const executorId = `task-${counter}`;
    const sandbox = mkdtempSync(join(tmpdir(), 'mezzo-executor-'));
    dirs.push(sandbox);
    const file: TaskFileInput = {
      task: {
        taskId: executorId,
        name: executorId,
        agentId,
        resources: [{ name: 'cpus', scalar: 0.1 }],
        command: { value: command },
      },
      frameworkId: 'fw-wait',
      agentId,
      executorId,
      prefix: nats.prefix,
      killPolicy: { gracePeriodSeconds: 1 },
    };
    writeFileSync(join(sandbox, TASK_FILE), JSON.stringify(file));
    const updates: TaskStatus[] = [];
    bus.listen(s.agentExecutors(agentId), ExecutorToAgent, (m) => {
      if (m.type === 'STATUS_UPDATE') updates.push(m.status);
    });
    await bus.flush();
    const env = {
      ...process.env,
      [ExecutorEnv.NATS_URL]: nats.url,
      [ExecutorEnv.PREFIX]: nats.prefix,
      [ExecutorEnv.AGENT_ID]: agentId,
      [ExecutorEnv.EXECUTOR_ID]: executorId,
      [ExecutorEnv.SANDBOX]: sandbox,
      [RECOVERY_TIMEOUT_ENV]: String(GIVE_UP_MS),
    };
    const ack = (uuid: string) =>
      bus.publish(s.executor(agentId, executorId), AgentToExecutor, { type: 'ACK', uuid });
    const shutdown = () =>
      bus.publish(s.executor(agentId, executorId), AgentToExecutor, { type: 'SHUTDOWN' });
    /** ackUntil acknowledges every update until one in `states` arrives, which it leaves unacknowledged. */
    const ackUntil = async (state: string) => {
      const acked = new Set<string>();
      await waitFor(
        () => {
          for (const u of updates)
            if (u.state !== state && !acked.has(u.uuid as string)) {
              acked.add(u.uuid as string);
              ack(u.uuid as string);
            }
          return updates.some((u) => u.state === state);
        },
        30_000,
        `${state} from the executor`,
      );
      return updates.find((u) => u.state === state) as TaskStatus;
    };
    return { sandbox, env, updates, ack, shutdown, ackUntil };
  }

  /** exitOf resolves with the exit code of a child process. */
  const exitOf = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.once('exit', (code) => resolve(code));
    });

  it('keeps its TASK_FINISHED, resending it, long past the give-up time while its agent lives, and exits 0 once acknowledged', async () => {
    const x = await prepare('exit 0');
    const child = spawn(process.execPath, [EXECUTOR_MAIN], { env: x.env, stdio: 'ignore' });
    pids.push(child.pid as number);
    const exited = exitOf(child);
    const finished = await x.ackUntil('TASK_FINISHED');
    // The agent (this process, its parent) is slow: four give-up times without an ACK.
    const since = x.updates.length;
    await new Promise((r) => setTimeout(r, 4 * GIVE_UP_MS));
    expect(alive(child.pid as number)).toBe(true);
    expect(x.updates.slice(since).filter((u) => u.uuid === finished.uuid).length).toBeGreaterThanOrEqual(2);
    x.ack(finished.uuid as string);
    expect(await exited).toBe(0);
  }, 60_000);

  it('stops waiting when its agent is gone (it was handed to another parent) for the give-up time', async () => {
    const x = await prepare('exit 0');
    // The "agent" is a shell that starts the executor in the background and exits at once.
    const sh = spawn('/bin/sh', ['-c', `"${process.execPath}" ${EXECUTOR_MAIN} & echo $!`], {
      env: x.env,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = Number(
      await new Promise<string>((resolve) =>
        sh.stdout.on('data', (d: Buffer) => resolve(d.toString().trim())),
      ),
    );
    pids.push(pid);
    await x.ackUntil('TASK_FINISHED');
    await waitFor(() => !alive(pid), 30_000, 'the orphaned executor to give up');
  }, 60_000);

  it('stops waiting at once when the agent says it does not know it (SHUTDOWN)', async () => {
    const x = await prepare('exit 0');
    const child = spawn(process.execPath, [EXECUTOR_MAIN], { env: x.env, stdio: 'ignore' });
    pids.push(child.pid as number);
    const exited = exitOf(child);
    await x.ackUntil('TASK_FINISHED');
    // Its parent lives, so nothing but the SHUTDOWN ends the wait.
    x.shutdown();
    expect(await exited).toBe(0);
  }, 60_000);
});
