import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Network, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { decode, type NatsBus } from '../../bus/index.js';
import { Operator, Scheduler } from '../../frameworks/sdk/index.js';
import { type Offer, resources as R, type TaskStatus } from '../../protocol/index.js';
import { agentNode, docker, ensureImages, hostBus, logsOf, masterNode, natsNode, until } from './support.js';

// Containers are removed by afterAll; Ryuk (the reaper container) is not needed and not available.
process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';

/** How many tasks the burst launches while the leader is killed (MEZZO_CLUSTER_TASKS overrides; acceptance: 1000). */
const BURST = Number(process.env.MEZZO_CLUSTER_TASKS ?? 1000);
const PREFIX = 'mezzo.v1';
const TASK_RES = R.parseResources('cpus:0.05;mem:32');
const TERMINAL = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_DROPPED',
]);

/** A task's command and the terminal state it implies. */
const commandOf = (i: number) =>
  i % 3 === 0
    ? { value: 'exit 3', implies: 'TASK_FAILED' }
    : i % 3 === 1
      ? { value: 'exit 0', implies: 'TASK_FINISHED' }
      : { value: 'sleep 0.5', implies: 'TASK_FINISHED' };

/**
 * A framework on the host that launches queued tasks on whatever offers come, remembering which
 * launches the master acknowledged, and every status update it sees.
 */
class BurstFramework {
  readonly queue: { taskId: string; command: string; implies: string }[] = [];
  readonly implied = new Map<string, string>();
  readonly acked = new Set<string>();
  readonly unacked = new Set<string>();
  readonly updates: TaskStatus[] = [];
  /** The last state of each task (reconciliation answers aside): polled often, so kept, not searched. */
  private readonly last = new Map<string, string>();
  pinAgent: string | undefined;

  constructor(readonly scheduler: Scheduler) {
    scheduler.on('update', (s) => {
      this.updates.push(s);
      if (s.reason !== 'REASON_RECONCILIATION') this.last.set(s.taskId, s.state);
    });
    scheduler.on('offers', (offers) => void this.onOffers(offers));
  }

  enqueue(taskId: string, command: string, implies: string): void {
    this.queue.push({ taskId, command, implies });
    this.implied.set(taskId, implies);
  }

  private async onOffers(offers: Offer[]): Promise<void> {
    for (const offer of offers) {
      const fits = Math.min(
        Math.floor(R.scalar(offer.resources, 'cpus') / 0.05 + 1e-9),
        Math.floor(R.scalar(offer.resources, 'mem') / 32 + 1e-9),
        25,
      );
      const wanted = this.pinAgent && offer.agentId !== this.pinAgent ? 0 : fits;
      const batch = this.queue.splice(0, Math.min(wanted, this.queue.length));
      if (batch.length === 0) {
        await this.scheduler.decline([offer.id], { refuseSeconds: 1 }).catch(() => {});
        continue;
      }
      try {
        await this.scheduler.launch(
          offer,
          batch.map((t) => ({
            taskId: t.taskId,
            name: t.taskId,
            resources: TASK_RES,
            command: { value: t.command },
          })),
        );
        for (const t of batch) this.acked.add(t.taskId);
      } catch {
        for (const t of batch) this.unacked.add(t.taskId);
      }
    }
  }

  /** finalState is the last state an agent reported for a task (reconciliation answers aside). */
  finalState(taskId: string): string | undefined {
    return this.last.get(taskId);
  }

  /**
   * incomplete lists the tasks that did not go through TASK_STARTING, TASK_RUNNING and their end:
   * the executor reports all three, so a task missing one lost an update.
   */
  incomplete(ids: readonly string[]): string[] {
    const states = new Map<string, Set<string>>();
    for (const u of this.updates) {
      if (u.reason === 'REASON_RECONCILIATION') continue;
      states.set(u.taskId, (states.get(u.taskId) ?? new Set()).add(u.state));
    }
    return ids.flatMap((id) => {
      const missing = ['TASK_STARTING', 'TASK_RUNNING', this.implied.get(id) ?? '?'].filter(
        (st) => !states.get(id)?.has(st),
      );
      return missing.length ? [`${id}: no ${missing.join(', ')}`] : [];
    });
  }

  /** mismatches lists the tasks that did not end as their command implies, with what they went through. */
  mismatches(ids: readonly string[]): string[] {
    return ids
      .filter((id) => this.finalState(id) !== this.implied.get(id))
      .map(
        (id) =>
          `${id} (${this.implied.get(id)}): ${this.updates
            .filter((u) => u.taskId === id)
            .map((u) => `${u.state}/${u.reason ?? ''}/${u.source}/${u.message ?? ''}`)
            .join(' > ')}`,
      );
  }

  /** statesOnce lists, per task, states seen more than once after dropping redelivered uuids. */
  repeatedStates(): string[] {
    const seen = new Set<string>();
    const byTask = new Map<string, string[]>();
    for (const u of this.updates) {
      if (u.reason === 'REASON_RECONCILIATION') continue;
      const key = u.uuid ?? `${u.taskId}/${u.state}/${u.timestamp}`;
      if (seen.has(key)) continue;
      seen.add(key);
      byTask.set(u.taskId, [...(byTask.get(u.taskId) ?? []), u.state]);
    }
    return [...byTask].flatMap(([t, states]) =>
      states.filter((s, i) => states.indexOf(s) !== i).map((s) => `${t}:${s}`),
    );
  }
}

describe('an HA cluster in containers: 3 NATS nodes, 3 masters, 2 agents', () => {
  let network: StartedNetwork;
  const nats: StartedTestContainer[] = [];
  const masters = new Map<string, StartedTestContainer>();
  const agents: StartedTestContainer[] = [];
  let bus: NatsBus;
  let operator: Operator;
  let framework: BurstFramework;

  const leader = async () => (await operator.master()).masterId;
  const standbyOf = (id: string) => [...masters.keys()].filter((m) => m !== id);

  /** When the suite began, images included: its wall time is printed at the end. */
  const suiteStart = Date.now();

  beforeAll(async () => {
    await ensureImages();
    network = await new Network().start();
    nats.push(...(await Promise.all([1, 2, 3].map((n) => natsNode(network, n)))));
    const started = await Promise.all(
      ['master-1', 'master-2', 'master-3'].map((id) => masterNode(network, id)),
    );
    for (const [i, c] of started.entries()) masters.set(`master-${i + 1}`, c);
    agents.push(
      ...(await Promise.all(
        ['agent-1', 'agent-2'].map((a) =>
          agentNode(network, a, 'cpus:4;mem:2048;disk:1024;ports:[31000-31099]'),
        ),
      )),
    );
    bus = await hostBus(nats, 'cluster-test');
    operator = await Operator.connect({ nats: bus, prefix: PREFIX, timeoutMs: 2000 });
    await until(() => leader(), 60_000, 'a leader answering');
    const scheduler = await Scheduler.start({
      nats: bus,
      prefix: PREFIX,
      framework: {
        name: 'burst',
        roles: ['*'],
        failoverTimeoutSeconds: 3600,
        capabilities: ['PARTITION_AWARE'],
      },
      requestTimeoutMs: 3000,
    });
    framework = new BurstFramework(scheduler);
    await scheduler.subscribed();
  }, 300_000);

  afterAll(async () => {
    await framework?.scheduler.close().catch(() => {});
    await bus?.close().catch(() => {});
    await Promise.all(
      [...agents, ...masters.values(), ...nats].map((c) => {
        // Unpause first, or the stop hangs; an error here means it was not needed.
        spawnQuiet('unpause', c.getId());
        return c.stop({ timeout: 5_000 }).catch(() => {});
      }),
    );
    await network?.stop().catch(() => {});
    console.log(`cluster suite tasks=${BURST} wall_ms=${Date.now() - suiteStart}`);
  }, 120_000);

  /** runTasks launches `count` tasks named `<tag>-<i>` and resolves once all acknowledged ones ended. */
  const runTasks = async (tag: string, count: number, timeoutMs: number) => {
    for (let i = 0; i < count; i++) {
      const c = commandOf(i);
      framework.enqueue(`${tag}-${i}`, c.value, c.implies);
    }
    await framework.scheduler.revive().catch(() => {});
    const ids = Array.from({ length: count }, (_, i) => `${tag}-${i}`);
    await until(
      () => ids.every((id) => framework.unacked.has(id) || TERMINAL.has(framework.finalState(id) ?? '')),
      timeoutMs,
      `${tag} tasks to end`,
      250,
    );
    return ids;
  };

  it('survives a standby master being killed: the leader and its epoch stay', async () => {
    const before = await operator.master();
    const standby = standbyOf(before.masterId)[0];
    docker('kill', (masters.get(standby) as StartedTestContainer).getId());
    const ids = await runTasks('standby', 6, 60_000);
    expect(framework.mismatches(ids)).toEqual([]);
    expect(await operator.master()).toMatchObject({ masterId: before.masterId, epoch: before.epoch });
    docker('start', (masters.get(standby) as StartedTestContainer).getId());
    await until(
      () =>
        /standing by/.test(
          logsOf(masters.get(standby) as StartedTestContainer)
            .split('\n')
            .slice(-20)
            .join('\n'),
        ),
      60_000,
      'the standby back',
    );
  }, 180_000);

  it(`loses no acknowledged task or update when the leader is killed during a burst of ${BURST} launches`, async () => {
    onTestFailed(() => dumpLogs([...masters.values(), ...agents]));
    const old = await operator.master();
    for (let i = 0; i < BURST; i++) {
      const c = commandOf(i);
      framework.enqueue(`burst-${i}`, c.value, c.implies);
    }
    await framework.scheduler.revive().catch(() => {});
    await until(
      () => framework.acked.size >= 6 + Math.floor(BURST / 4),
      120_000,
      'a quarter of the burst launched',
    );
    const killedAt = Date.now();
    docker('kill', (masters.get(old.masterId) as StartedTestContainer).getId());
    const next = await until(
      async () => {
        const m = await operator.master();
        return m.masterId !== old.masterId ? m : undefined;
      },
      30_000,
      'a new leader serving',
      50,
    );
    const newLeaderMs = Date.now() - killedAt;
    console.log(
      `cluster leader-killed tasks=${BURST} new_leader_serving_ms=${newLeaderMs} epoch=${next.epoch}`,
    );
    expect(newLeaderMs).toBeLessThan(10_000);
    expect(next.epoch).toBeGreaterThan(old.epoch);

    // Launches the dying leader never acknowledged go again under fresh ids; they must all end too.
    const ids = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
    const pending = () =>
      ids.filter((id) => !framework.unacked.has(id) && !TERMINAL.has(framework.finalState(id) ?? ''));
    try {
      await until(
        () => pending().length === 0,
        Math.max(180_000, BURST * 600),
        'every acknowledged task of the burst to end',
        250,
      );
    } catch (err) {
      // Say where the stragglers stand: their last update, and what the master answers for them.
      const left = pending();
      const seen = framework.updates.length;
      await framework.scheduler.reconcile(left.slice(0, 50).map((taskId) => ({ taskId }))).catch(() => {});
      await new Promise((r) => setTimeout(r, 3000));
      const answers = framework.updates.slice(seen).map((u) => `${u.taskId}:${u.state}`);
      const last = left.map((id) => framework.finalState(id) ?? 'no update');
      const byState = Object.fromEntries(
        [...new Set(last)].map((st) => [st, last.filter((x) => x === st).length]),
      );
      throw new Error(
        `${(err as Error).message}: ${left.length} left ${JSON.stringify(byState)}; reconciliation: ${answers.slice(0, 20).join(' ')}`,
      );
    }
    const retried = [...framework.unacked].filter(
      (id) => id.startsWith('burst-') && !framework.finalState(id),
    );
    const retriedIds = await runTasks('retry', retried.length, 120_000);
    // With a loaded machine an agent may miss heartbeats; its tasks then pass through UNREACHABLE.
    const unreachable = framework.updates.filter((u) => u.state === 'TASK_UNREACHABLE').length;
    console.log(`cluster leader-killed unreachable_updates=${unreachable}`);
    console.log(
      `cluster leader-killed acknowledged=${[...framework.acked].filter((i) => i.startsWith('burst-')).length} unacknowledged=${retried.length}`,
    );

    // How long executors waited for their agent to acknowledge their updates once their task ended.
    const copies = copyAgents(agents);
    const waits = terminalAckWaits(copies.flatMap((c) => c.logs)).sort((a, b) => a - b);
    const at = (q: number) => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))] ?? 0;
    console.log(
      `cluster leader-killed executors=${waits.length} terminal_ack_wait_p50_ms=${at(0.5)} p99_ms=${at(0.99)} max_ms=${waits.at(-1) ?? 0}`,
    );
    const mismatched = framework.mismatches(ids.filter((i) => framework.acked.has(i)));
    if (mismatched.length > 0) printExecutorLogs(copies, mismatched.map((m) => m.split(' ')[0]).slice(0, 10));
    else for (const c of copies) rmSync(c.dir, { recursive: true, force: true });
    expect(mismatched).toEqual([]);
    expect(framework.incomplete(ids.filter((i) => framework.acked.has(i)))).toEqual([]);
    expect(framework.mismatches(retriedIds)).toEqual([]);
    expect(framework.repeatedStates()).toEqual([]);
    expect(framework.updates.filter((u) => u.state === 'TASK_KILLED' || u.state === 'TASK_LOST')).toEqual([]);
    docker('start', (masters.get(old.masterId) as StartedTestContainer).getId());
  }, 900_000);

  it('keeps working when one of the three NATS nodes is killed; writes resume and nothing acknowledged is lost', async () => {
    onTestFailed(() => dumpLogs([...masters.values(), ...agents]));
    await operator.updateWeights({ eng: 2 });
    const victim = nats[1];
    const killedAt = Date.now();
    docker('kill', victim.getId());
    await until(() => operator.updateWeights({ eng: 5 }), 30_000, 'an acknowledged write', 200);
    console.log(`cluster nats-node-killed writes_resumed_ms=${Date.now() - killedAt}`);
    expect((await operator.weights()).weights).toContainEqual({ role: 'eng', weight: 5 });
    const ids = await runTasks('onenode', 6, 90_000);
    expect(framework.mismatches(ids)).toEqual([]);
    docker('start', victim.getId());
  }, 180_000);

  it('a paused leader loses its lease and, unpaused, sends nothing anyone acts on', async () => {
    const old = await operator.master();
    const paused = masters.get(old.masterId) as StartedTestContainer;
    // Every message on the cluster's subjects with the epoch it carries, as seen from the host.
    const seen: { at: number; epoch?: number; subject: string }[] = [];
    const spy = bus.nc.subscribe(`${PREFIX}.>`, {
      callback: (_e, m) => {
        let epoch: number | undefined;
        try {
          epoch = (decode(m.data, Number.MAX_SAFE_INTEGER) as { epoch?: number } | null)?.epoch;
        } catch {}
        seen.push({ at: Date.now(), epoch, subject: m.subject });
      },
    });
    docker('pause', paused.getId());
    const next = await until(
      async () => {
        const m = await operator.master();
        return m.masterId !== old.masterId ? m : undefined;
      },
      30_000,
      'a new leader while the old one is paused',
      100,
    );
    // Let the new leader settle, then wake the old one up.
    await new Promise((r) => setTimeout(r, 1000));
    const resumedAt = Date.now();
    docker('unpause', paused.getId());
    await until(
      () => /stopped acting|stepping down|lease lost/.test(logsOf(paused)),
      20_000,
      'the old leader stepping down',
    );
    await new Promise((r) => setTimeout(r, 3000));
    spy.unsubscribe();
    expect(seen.filter((x) => x.epoch === old.epoch && x.at >= resumedAt)).toEqual([]);
    expect(seen.some((x) => x.epoch === next.epoch)).toBe(true);
    expect((await operator.master()).masterId).toBe(next.masterId);
    const ids = await runTasks('afterpause', 4, 60_000);
    expect(framework.mismatches(ids)).toEqual([]);
  }, 180_000);

  it('marks an agent cut off from the network unreachable, and reports its running task again once it is back', async () => {
    onTestFailed(() => dumpLogs([...masters.values(), agents[1]]));
    const agentViews = await operator.agents();
    const target = agentViews.find((a) => a.hostname === 'agent-2' && a.status === 'ACTIVE');
    expect(target).toBeDefined();
    const agentId = target?.id as string;
    framework.pinAgent = agentId;
    framework.enqueue('cutoff-long', 'sleep 600', 'TASK_KILLED');
    await framework.scheduler.revive().catch(() => {});
    await until(
      () => framework.finalState('cutoff-long') === 'TASK_RUNNING',
      60_000,
      'the long task running',
    );
    framework.pinAgent = undefined;

    const container = agents[1];
    // Every network it is on (the engine may attach the default bridge too): cut off means cut off.
    const networks = docker(
      'inspect',
      '--format',
      '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}',
      container.getId(),
    )
      .split(' ')
      .filter(Boolean);
    for (const n of networks) docker('network', 'disconnect', n, container.getId());
    await until(
      async () => (await operator.agents()).find((a) => a.id === agentId)?.status === 'UNREACHABLE',
      60_000,
      'the agent unreachable',
      250,
    );
    await until(
      () => framework.updates.some((u) => u.taskId === 'cutoff-long' && /UNREACHABLE|LOST/.test(u.state)),
      20_000,
      'the framework told the task is unreachable',
    );
    for (const n of networks) docker('network', 'connect', n, container.getId());
    await until(
      async () => (await operator.agents()).find((a) => a.id === agentId)?.status === 'ACTIVE',
      60_000,
      'the agent back',
      250,
    );
    const before = framework.updates.length;
    await until(
      async () => {
        await framework.scheduler.reconcile([{ taskId: 'cutoff-long', agentId }]);
        await new Promise((r) => setTimeout(r, 300));
        return framework.updates
          .slice(before)
          .some(
            (u) =>
              u.taskId === 'cutoff-long' &&
              u.state === 'TASK_RUNNING' &&
              u.reason === 'REASON_RECONCILIATION',
          );
      },
      30_000,
      'reconciliation reporting the task running',
      500,
    );
    await framework.scheduler.kill('cutoff-long').catch(() => {});
  }, 240_000);
});

/** dumpLogs prints the last lines of containers' logs, to tell why a test failed. */
function dumpLogs(cs: StartedTestContainer[]): void {
  for (const c of cs) console.log(`--- ${c.getName()}\n${logsOf(c).split('\n').slice(-40).join('\n')}`);
}

/** AgentCopy is an agent's data directory copied out of its container, and its executors' logs in it. */
interface AgentCopy {
  name: string;
  dir: string;
  logs: string[];
}

/** copyAgents copies each agent's data directory (sandboxes included) out of its container. */
function copyAgents(cs: StartedTestContainer[]): AgentCopy[] {
  return cs.map((c) => {
    const dir = mkdtempSync(join(tmpdir(), 'mezzo-cluster-'));
    spawnQuiet('cp', `${c.getId()}:/data`, dir);
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(d, e.name)) : e.name === 'executor.log' ? [join(d, e.name)] : [],
      );
    return { name: c.getName(), dir, logs: walk(dir) };
  });
}

/** printExecutorLogs prints the executor logs of the given tasks (sandboxes: `.../executors/<taskId>/runs/<id>/`). */
function printExecutorLogs(copies: AgentCopy[], taskIds: string[]): void {
  for (const c of copies) {
    for (const file of c.logs) {
      const id = taskIds.find((t) => file.includes(`/executors/${t}/`));
      if (id) console.log(`--- ${c.name} ${id}: ${file}\n${readFileSync(file, 'utf8').slice(-6000)}`);
    }
    console.log(`(${c.name}'s data kept in ${c.dir})`);
  }
}

/**
 * terminalAckWaits reads from executor logs (pino lines) how long each executor waited, its task
 * ended, for the agent to acknowledge its updates: from entering `reporting` to `done` (ms).
 */
function terminalAckWaits(logs: string[]): number[] {
  return logs.flatMap((file) => {
    let from: number | undefined;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      let entry: { msg?: string; state?: unknown; time?: number };
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      if (entry.msg !== 'executor state' || typeof entry.time !== 'number') continue;
      if (entry.state === 'reporting') from ??= entry.time;
      else if (entry.state === 'done' && from !== undefined) return [entry.time - from];
    }
    return [];
  });
}

function spawnQuiet(...args: string[]): void {
  try {
    docker(...args);
  } catch {}
}
