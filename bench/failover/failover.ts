import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RegistryStore } from '../../actors/master/registry-store.js';
import { type SeedTask, startSimulator } from '../../actors/simulator/index.js';
import { connectNats, NatsBus, silentLogger, startNatsServer, stopChild } from '../../bus/index.js';
import { Operator, Scheduler } from '../../frameworks/sdk/index.js';
import { FrameworkInfo, subjects as makeSubjects, resources as R, TaskInfo } from '../../protocol/index.js';
import { masterNodeFlags } from '../common/master-process.js';

/** FailoverOptions shape one run: N simulated agents holding M running tasks among F frameworks. */
export interface FailoverOptions {
  agents: number;
  tasks: number;
  frameworks: number;
  /** The masters' lease ttl (ms): a killed leader's lease outlives it by up to this. Default: the master's. */
  leaseTtlMs?: number;
  timeoutMs: number;
  /** Node flags for the master processes, e.g. `--cpu-prof --cpu-prof-dir=prof`. */
  masterNodeFlags?: string[];
  /** REGISTERs the simulated agents keep in flight at once (default: the simulator's, 128). */
  registerConcurrency?: number;
  /**
   * How long the cluster runs once the registry holds every agent before the leader is killed
   * (ms, default 0): with 2,000 or more, the kill finds the standby's copy of the registry
   * refreshed (every second) as in a cluster at rest, not in the middle of catching up with the
   * registration storm's last ops and snapshot.
   */
  settleMs?: number;
  /** The simulated agents re-register with a digest of their running tasks when the master takes one (default true). */
  digests?: boolean;
  log?: (line: string) => void;
}

/** FailoverResult is what one run measured, from the kill of the leader. */
export interface FailoverResult {
  agents: number;
  tasks: number;
  /** Until a standby said it leads. */
  electedMs: number;
  /**
   * Until the new leader had every agent back (GET_MASTER recoveringAgents = 0) and every
   * framework had resubscribed with it.
   */
  reregisteredMs: number;
  /** Until every framework had resubscribed with the new leader. */
  resubscribedMs: number;
  /** Tasks the new leader knows once every agent is back. */
  tasksKnown: number;
  /** REGISTERs after the kill that failed (timed out or refused) and were retried. */
  registerFailures: number;
  /** REGISTERs after the kill that the new leader took with a tasks digest (its standby had followed the agent). */
  digestRegistrations: number;
  /** REGISTERs with a digest after the kill that the new leader had no matching copy for (then sent in full). */
  digestMismatches: number;
  /** CPU time of the new leader's main thread from the kill until every agent was back (ms). */
  leaderMainCpuMs: number;
  /** CPU time of the whole new leader process (main thread, intake worker, GC threads) in that time (ms). */
  leaderCpuMs: number;
  /** CPU time of this process (the simulated agents and the frameworks) in that time (ms). */
  benchCpuMs: number;
  /** CPU time of the nats-server in that time (ms). */
  natsCpuMs: number;
}

/** cpuMs reads a process's or one of its threads' user + system CPU time (ms) from /proc. */
function cpuMs(pid: number, tid?: number): number {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, in clock ticks of 10 ms (USER_HZ is 100 on mainstream kernels).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface HaMasterProcess {
  id: string;
  child: ChildProcess;
  out(): string;
}

function startHaMasterProcess(
  natsUrl: string,
  prefix: string,
  id: string,
  leaseTtlMs: number | undefined,
  nodeFlags: readonly string[],
): HaMasterProcess {
  const child = spawn(
    process.execPath,
    [
      ...masterNodeFlags(nodeFlags),
      resolve('dist/cli/main.js'),
      'master',
      '--ha',
      '--nats',
      natsUrl,
      '--prefix',
      prefix,
      '--master-id',
      id,
    ],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: {
        ...process.env,
        MEZZO_LOG_LEVEL: 'warn',
        ...(leaseTtlMs !== undefined ? { MEZZO_LEASE_TTL_MS: String(leaseTtlMs) } : {}),
        MEZZO_DATA: mkdtempSync(join(tmpdir(), 'mezzo-bench-')),
      },
    },
  );
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (s: string) => {
    out = (out + s).slice(-65_536);
  });
  return { id, child, out: () => out };
}

async function until<T>(
  check: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve()
      .then(check)
      .catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`failover bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * runFailover measures a master failover the Mesos way: two masters elect a leader on one
 * nats-server; simulated agents register holding running tasks; the leader is killed (SIGKILL, so
 * its lease must expire); the time is taken until the standby leads and until every agent has
 * re-registered with it, its tasks with it.
 */
export async function runFailover(o: FailoverOptions): Promise<FailoverResult> {
  const log = o.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'mezzo-bench-failover-'));
  const server = await startNatsServer({
    dataDir: dir,
    maxPayloadBytes: 64 * 1024 * 1024,
    authorization: false,
  });
  const prefix = `failover${process.pid}.v1`;
  const subjects = makeSubjects(prefix);
  const masters = [
    startHaMasterProcess(server.url, prefix, 'bench-a', o.leaseTtlMs, o.masterNodeFlags ?? []),
    startHaMasterProcess(server.url, prefix, 'bench-b', o.leaseTtlMs, o.masterNodeFlags ?? []),
  ];
  const schedulers: Scheduler[] = [];
  const buses: NatsBus[] = [];
  const bus = async (name: string) => {
    const b = new NatsBus(
      await connectNats({ servers: server.url, name, log: silentLogger, noAsyncTraces: true }),
      silentLogger,
      64 * 1024 * 1024,
    );
    buses.push(b);
    return b;
  };
  try {
    const leadingOf = (m: HaMasterProcess) => /leading epoch=\d+\s*$/.test(m.out());
    const first = (await until(() => masters.find(leadingOf), 30_000, 'a leader')) as HaMasterProcess;
    const frameworks = Array.from({ length: o.frameworks }, (_, i) =>
      FrameworkInfo.parse({ id: `bench-fw-${i}`, name: `bench-${i}`, failoverTimeoutSeconds: 3600 }),
    );
    // The frameworks subscribe for real, and note which master last accepted their SUBSCRIBE.
    const subscribedTo = new Map<string, string>();
    const frameworkBus = await bus('bench-frameworks');
    for (const framework of frameworks) {
      const s: Scheduler = await Scheduler.start({
        nats: frameworkBus,
        prefix,
        framework,
        handlers: {
          subscribed: (info) => subscribedTo.set(framework.id, info.masterId),
          offers: (offers) =>
            void s
              .decline(
                offers.map((x) => x.id),
                { refuseSeconds: 3600 },
              )
              .catch(() => {}),
        },
      });
      schedulers.push(s);
    }
    await until(
      () => frameworks.every((f) => subscribedTo.get(f.id) === first.id),
      o.timeoutMs,
      'the frameworks to subscribe',
    );
    const perAgent = Math.floor(o.tasks / o.agents);
    const extra = o.tasks % o.agents;
    const res = R.parseResources('cpus:0.1;mem:32');
    const seed = (i: number, agentId: string): SeedTask[] =>
      Array.from({ length: perAgent + (i < extra ? 1 : 0) }, (_, k) => ({
        framework: frameworks[(i + k) % frameworks.length],
        task: TaskInfo.parse({
          taskId: `t-${i}-${k}`,
          name: 't',
          agentId,
          resources: res,
          command: { value: 'sleep 1d' },
        }),
        state: 'TASK_RUNNING',
      }));
    const sim = await startSimulator({
      bus: await bus('bench-sim'),
      subjects,
      agents: o.agents,
      resources: R.parseResources(`cpus:${Math.max(32, perAgent)};mem:${Math.max(131072, perAgent * 64)}`),
      idPrefix: 'bench',
      seed,
      validateOutgoing: false,
      // One reply subscription for the REGISTERs (the bench's nats-server is unsecured): nats.js's
      // request() builds a stack-traced Error for each one that completes.
      requestInbox: '_INBOX',
      ...(o.registerConcurrency !== undefined ? { registerConcurrency: o.registerConcurrency } : {}),
      taskDurationMs: Number.POSITIVE_INFINITY,
      digests: o.digests ?? true,
    });
    await sim.whenRegistered(o.agents, o.timeoutMs);
    log(`failover: ${o.agents} agents registered with ${first.id}`);
    // The registry must hold every agent before the kill, or the new leader would not wait for them.
    const reader = await RegistryStore.open({
      nc: (await bus('bench-registry')).nc,
      subjects,
      replicas: 1,
      log: silentLogger,
    });
    await until(async () => (await reader.load()).agents.size === o.agents, o.timeoutMs, 'the registry', 200);
    const operator = await Operator.connect({ nats: await bus('bench-operator'), prefix, timeoutMs: 1000 });
    if (o.settleMs) await new Promise((r) => setTimeout(r, o.settleMs));

    const standby = masters.find((m) => m !== first) as HaMasterProcess;
    const before = sim.stats();
    const standbyPid = standby.child.pid as number;
    const cpuBefore = {
      main: cpuMs(standbyPid, standbyPid),
      all: cpuMs(standbyPid),
      bench: process.cpuUsage(),
      nats: cpuMs(server.pid),
    };
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await until(() => leadingOf(standby), o.timeoutMs, 'the standby to lead', 5);
    const electedMs = Date.now() - killedAt;
    let resubscribedMs = 0;
    await until(
      () => {
        const done = frameworks.every((f) => subscribedTo.get(f.id) === standby.id);
        if (done && !resubscribedMs) resubscribedMs = Date.now() - killedAt;
        return done;
      },
      o.timeoutMs,
      'every framework resubscribed',
      5,
    );
    await until(
      async () => {
        const m = await operator.master();
        return m.masterId === standby.id && m.recoveringAgents === 0;
      },
      o.timeoutMs,
      'every agent back',
      10,
    );
    const reregisteredMs = Date.now() - killedAt;
    const leaderMainCpuMs = cpuMs(standbyPid, standbyPid) - cpuBefore.main;
    const leaderCpuMs = cpuMs(standbyPid) - cpuBefore.all;
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    const benchCpuMs = Math.round((benchCpu.user + benchCpu.system) / 1000);
    const natsCpuMs = cpuMs(server.pid) - cpuBefore.nats;
    const tasksKnown = (await operator.tasks()).filter((t) => t.state === 'TASK_RUNNING').length;
    const after = sim.stats();
    const registerFailures = after.registerFailures - before.registerFailures;
    const digestRegistrations = after.digestRegistrations - before.digestRegistrations;
    const digestMismatches = after.digestMismatches - before.digestMismatches;
    await sim.stop();
    return {
      agents: o.agents,
      tasks: o.tasks,
      electedMs,
      reregisteredMs,
      resubscribedMs,
      tasksKnown,
      registerFailures,
      digestRegistrations,
      digestMismatches,
      leaderMainCpuMs,
      leaderCpuMs,
      benchCpuMs,
      natsCpuMs,
    };
  } finally {
    for (const s of schedulers) await s.close().catch(() => {});
    for (const b of buses) await b.close().catch(() => {});
    for (const m of masters) await stopChild(m.child, 5000);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
