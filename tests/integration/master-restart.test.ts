import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { silentLogger } from '../../bus/index.js';
import { Scheduler } from '../../frameworks/sdk/index.js';
import { resources as R, Reason, type TaskStatus } from '../../protocol/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';
import { waitFor } from '../support/processes.js';

const MEZZO = resolve('dist/cli/main.js');

/** A `mezzo` process of the test's own, with its output kept. */
interface Proc {
  child: ChildProcess;
  out: () => string;
}

function mezzo(nats: TestNats, data: string, args: string[]): Proc {
  const child = spawn(process.execPath, [MEZZO, ...args, '--nats', nats.url, '--prefix', nats.prefix], {
    env: { ...process.env, MEZZO_DATA: data, MEZZO_NATS_URL: '', MEZZO_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return { child, out: () => out };
}

async function exited(child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error('the process did not exit')), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
  });
}

const SHORT = Array.from({ length: 8 }, (_, i) => `short-${i}`);
const LONG = ['long-0', 'long-1'];

describe('a master killed by SIGKILL while status updates flow, and a new one in its place', () => {
  let nats: TestNats;
  const dirs: string[] = [];
  const procs: Proc[] = [];
  const tmp = (name: string) => {
    const d = mkdtempSync(join(tmpdir(), `mezzo-master-restart-${name}-`));
    dirs.push(d);
    return d;
  };
  const start = (args: string[]) => {
    const p = mezzo(nats, tmp('data'), args);
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    nats = await startTestNats();
  });

  afterAll(async () => {
    // Agents first (they kill their tasks), then masters.
    for (const p of [...procs].reverse()) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      p.child.kill('SIGTERM');
      await exited(p.child).catch(() => p.child.kill('SIGKILL'));
    }
    await nats.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('rebuilds from re-registering agents and a resubscribing framework: reconciliation tells the truth, no acknowledged update comes again, none unacknowledged is lost', async () => {
    // What the processes said helps to tell a slow machine from a bug.
    onTestFailed(() => {
      for (const [i, p] of procs.entries())
        console.error(`--- process ${i} (${p.child.spawnargs.slice(2, 3)})\n${p.out().slice(-6000)}`);
    });
    const first = start(['master']);
    await waitFor(() => /mezzo master \S+ ready/.test(first.out()), 60_000, `the master; got ${first.out()}`);
    const agentProc = start([
      'agent',
      '--work-dir',
      tmp('work'),
      '--resources',
      'cpus:4;mem:1024;disk:1024;ports:[31000-31009]',
    ]);
    await waitFor(
      () => /mezzo agent \S+ registered/.test(agentProc.out()),
      60_000,
      `the agent; got ${agentProc.out()}`,
    );
    const agentId = /mezzo agent (\S+) registered/.exec(agentProc.out())?.[1] as string;

    // The framework acknowledges by hand, so that the test knows which acknowledgements the master took.
    const updates: TaskStatus[] = [];
    const acked = new Set<string>();
    const redelivered: TaskStatus[] = [];
    let launched = false;
    const scheduler = await Scheduler.start({
      nats: await nats.bus('framework'),
      prefix: nats.prefix,
      framework: { name: 'restart', checkpoint: true, failoverTimeoutSeconds: 300 },
      autoAcknowledge: false,
      log: silentLogger,
    });
    scheduler.on('update', (s) => {
      updates.push(s);
      if (!s.uuid) return;
      if (acked.has(s.uuid)) redelivered.push(s);
      else
        scheduler.acknowledge(s).then(
          () => acked.add(s.uuid as string),
          () => {},
        );
    });
    scheduler.on('offers', async (offers) => {
      for (const offer of offers) {
        if (launched) {
          await scheduler.decline([offer.id]).catch(() => {});
          continue;
        }
        launched = true;
        await scheduler.launch(offer, [
          // Short tasks end one after another, 1 s apart, so updates flow across the master’s death.
          ...SHORT.map((taskId, i) => ({
            taskId,
            name: taskId,
            resources: R.parseResources('cpus:0.1;mem:32'),
            command: { value: `sleep ${i + 1}` },
          })),
          ...LONG.map((taskId) => ({
            taskId,
            name: taskId,
            resources: R.parseResources('cpus:0.1;mem:32'),
            command: { value: 'while true; do sleep 0.2; done' },
          })),
        ]);
      }
    });
    await scheduler.subscribed();
    /** states are one task's states as the framework saw them, each uuid once. */
    const states = (taskId: string) => {
      const seen = new Set<string>();
      return updates.flatMap((u) => {
        if (u.taskId !== taskId || !u.uuid || seen.has(u.uuid)) return [];
        seen.add(u.uuid);
        return [u.state];
      });
    };

    // Kill the master once the first short tasks have finished and while the others still run.
    await waitFor(() => states('short-1').includes('TASK_FINISHED'), 60_000, 'short-1 to finish');
    first.child.kill('SIGKILL');
    await exited(first.child);
    const finishedBefore = SHORT.filter((t) => states(t).includes('TASK_FINISHED'));
    expect(finishedBefore.length).toBeLessThan(SHORT.length);
    // Updates keep coming on the agent while there is no master.
    await new Promise((r) => setTimeout(r, 1500));

    const second = start(['master']);
    await waitFor(() => /mezzo master \S+ ready/.test(second.out()), 60_000, 'the new master');
    expect(second.out()).not.toContain(/mezzo master (\S+) ready/.exec(first.out())?.[1] as string);

    // The agent re-registers and the framework resubscribes on their own; then every update arrives.
    for (const t of SHORT)
      await waitFor(() => states(t).includes('TASK_FINISHED'), 90_000, `${t} to be reported finished`);
    for (const t of LONG) await waitFor(() => states(t).includes('TASK_RUNNING'), 60_000, `${t} running`);

    // Explicit reconciliation: the new master answers with the true state of every task.
    const answers = new Map<string, TaskStatus>();
    scheduler.on('update', (s) => {
      if (s.reason === Reason.RECONCILIATION) answers.set(s.taskId, s);
    });
    const all = [...SHORT, ...LONG];
    await waitFor(
      async () => {
        await scheduler.reconcile(all.map((taskId) => ({ taskId, agentId }))).catch(() => {});
        await new Promise((r) => setTimeout(r, 500));
        return answers.size === all.length;
      },
      60_000,
      'an answer for every task',
    );
    for (const t of SHORT) expect(answers.get(t)?.state, t).toBe('TASK_FINISHED');
    for (const t of LONG) expect(answers.get(t)?.state, t).toBe('TASK_RUNNING');

    // No update the master took the acknowledgement of came again; each task saw each state once.
    expect(redelivered).toEqual([]);
    for (const t of SHORT) expect(states(t), t).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    for (const t of LONG) expect(states(t), t).toEqual(['TASK_STARTING', 'TASK_RUNNING']);
    await scheduler.teardown();
  }, 300_000);
});
