import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { DURATION_LABEL, type SeedTask, startSimulator } from '../../actors/simulator/index.js';
import { startLoad } from '../../frameworks/load/index.js';
import { DEFAULT_PAGE_TASKS } from '../../frameworks/sdk/index.js';
import { FrameworkInfo, resources as R, TaskInfo, TaskState, type TasksAs } from '../../protocol/index.js';
import { ProgressLine, processStats, startBenchEnv, summaryLine } from '../common/index.js';
import type { Fetched } from './fetch-state.js';

/** StateOptions are one GET_STATE point (scenario 6 of BENCHMARKS.md). */
export interface StateOptions {
  agents: number;
  runningPerAgent: number;
  finishedPerAgent: number;
  frameworks: number;
  /** GET_STATE calls made, one after the other. */
  calls: number;
  /** Short tasks launched per second all along (the allocation that must not stall). */
  churnPerSecond: number;
  /** Tasks per GET_STATE page at most (a table page may hold fewer: the master keeps it within a message). */
  pageTasks: number;
  /** How GET_STATE sends tasks: as a columnar table (the default) or as TaskView objects. */
  tasksAs?: TasksAs;
  timeoutMs: number;
  progress?: boolean;
  /** Extra node flags for the master process (`--cpu-prof`, `--trace-gc`). */
  masterNodeFlags?: string[];
  /** Keep the master's stdout (what `--trace-gc` writes) in this file. */
  masterStdoutFile?: string;
}

/** StateResult is what one point measured. */
export interface StateResult {
  options: StateOptions;
  registerSeconds: number;
  masterTasks: number;
  getStateMs: number[];
  stateMb?: number;
  error?: string;
  /** Launch latency (submit to RUNNING) of the churn tasks before and while GET_STATE ran. */
  churnP99BeforeMs?: number;
  churnP99DuringMs?: number;
  churnMaxDuringMs?: number;
  masterRssMb: number;
  line: string;
}

export const STATE_DEFAULTS = {
  runningPerAgent: 10,
  finishedPerAgent: 10,
  frameworks: 5,
  calls: 5,
  churnPerSecond: 50,
  // The SDK's page (5,000 tasks: 7-14 ms of the master's time at 40,000 agents), so allocation goes on between them.
  pageTasks: DEFAULT_PAGE_TASKS,
  tasksAs: 'table' as TasksAs,
  timeoutMs: 600_000,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** probe runs the GET_STATE probe process and returns what it measured. */
function probe(
  natsUrl: string,
  prefix: string,
  calls: number,
  pageTasks: number,
  tasksAs: TasksAs,
): Promise<Fetched> {
  // The built probe, like the master process (tests run this file from source).
  const script = resolve('dist/bench/state/probe-main.js');
  const child = spawn(
    process.execPath,
    [
      script,
      ...['--nats', natsUrl, '--prefix', prefix, '--calls', String(calls), '--page', String(pageTasks)],
      ...['--as', tasksAs],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`state probe exited ${code}: ${err.slice(-2000)}`);
        resolve(JSON.parse(out.trim().split('\n').at(-1) as string) as Fetched);
      } catch (e) {
        reject(e);
      }
    });
  });
}

/**
 * runState registers N simulated agents that already run `runningPerAgent` tasks and hold
 * `finishedPerAgent` finished ones (reported at registration, as after a failover), subscribes
 * the frameworks, keeps launching short tasks at `churnPerSecond`, and times GET_STATE.
 */
export async function runState(o: StateOptions): Promise<StateResult> {
  const env = await startBenchEnv({ nodeFlags: o.masterNodeFlags, masterStdoutFile: o.masterStdoutFile });
  const progress = new ProgressLine(process.stderr, 10_000, o.progress ?? true);
  try {
    const frameworks = Array.from({ length: o.frameworks }, (_, i) =>
      FrameworkInfo.parse({ id: `state-${i}`, name: `load-state-${i}`, failoverTimeoutSeconds: 3600 }),
    );
    const resources = R.parseResources('cpus:0.1;mem:32');
    const seed = (i: number): SeedTask[] => {
      const framework = frameworks[i % frameworks.length];
      const task = (k: number) =>
        TaskInfo.parse({
          taskId: `s${i}-${k}`,
          name: 'seeded',
          resources,
          command: { value: 'true' },
          labels: { [DURATION_LABEL]: 'forever' },
        });
      const out: SeedTask[] = [];
      for (let k = 0; k < o.runningPerAgent; k++)
        out.push({ framework, task: task(k), state: TaskState.RUNNING });
      for (let k = 0; k < o.finishedPerAgent; k++)
        out.push({ framework, task: task(o.runningPerAgent + k), state: TaskState.FINISHED });
      return out;
    };
    // The frameworks subscribe first, so the finished tasks' updates are acknowledged as soon as
    // the agents send them rather than after their resend backoff, and are done before we measure.
    const run = await startLoad({
      bus: await env.bus('mezzo-load'),
      prefix: env.subjects.prefix,
      frameworks: o.frameworks,
      idPrefix: 'state',
      tasks: 10_000_000,
      taskResources: resources,
      ratePerSecond: o.churnPerSecond,
    });
    const t0 = performance.now();
    const sim = await startSimulator({
      bus: await env.bus('mezzo-sim'),
      subjects: env.subjects,
      agents: o.agents,
      resources: R.parseResources('cpus:32;mem:131072'),
      validateOutgoing: false,
      statusRetryMs: 10_000,
      seed,
    });
    const ticker = setInterval(() => {
      const s = sim.stats();
      progress.update(`state registered=${s.registered}/${o.agents} acks=${s.acks}`);
    }, 250);
    try {
      await sim.whenRegistered(o.agents, o.timeoutMs);
      const registerSeconds = (performance.now() - t0) / 1000;
      const finished = o.agents * o.finishedPerAgent;
      const ackDeadline = Date.now() + 120_000;
      while (sim.stats().terminalAcked < finished && Date.now() < ackDeadline) await sleep(100);
      // Churn settles (the first offers), then a quiet window to compare with.
      await sleep(5000);
      const settled = run.latencies.count;
      await sleep(5000);
      const before = run.latencies.count;
      const churnP99BeforeMs = run.latencies.since(settled, 0.99);
      // The operator runs in a process of its own (see probe-main.ts).
      const tasksAs = o.tasksAs ?? 'table';
      const readsFrom = Date.now() - env.master.spawnedAt;
      const { getStateMs, stateMb, masterTasks, pages, pageMaxMs, materializeMs, error } = await probe(
        env.natsUrl,
        env.subjects.prefix,
        o.calls,
        o.pageTasks,
        tasksAs,
      );
      // On the master's --trace-gc clock (about: it counts from the isolate's start).
      if (o.masterStdoutFile)
        process.stderr.write(
          `reads ran ${readsFrom}-${Date.now() - env.master.spawnedAt} ms after the master started\n`,
        );
      await sleep(1000);
      const during = run.latencies.count - before;
      const churnP99DuringMs = during > 0 ? run.latencies.since(before, 0.99) : undefined;
      const churnMaxDuringMs = during > 0 ? run.latencies.since(before, 1) : undefined;
      const masterRssMb = processStats(env.master.pid).rssMb;
      await sim.stop();
      const sorted = [...getStateMs].sort((a, b) => a - b);
      const r = {
        options: o,
        registerSeconds,
        masterTasks,
        getStateMs,
        stateMb,
        error,
        churnP99BeforeMs,
        churnP99DuringMs,
        churnMaxDuringMs,
        masterRssMb,
      };
      return {
        ...r,
        line: summaryLine('state', {
          agents: o.agents,
          running: o.agents * o.runningPerAgent,
          finished: o.agents * o.finishedPerAgent,
          register_s: registerSeconds,
          tasks_in_state: masterTasks,
          state_mb: stateMb,
          get_state_p50_ms: sorted[Math.floor((sorted.length - 1) / 2)],
          get_state_max_ms: sorted.at(-1),
          pages,
          page_max_ms: pageMaxMs,
          tasks_as: tasksAs,
          materialize_ms: materializeMs,
          churn_p99_before_ms: churnP99BeforeMs,
          churn_p99_during_ms: churnP99DuringMs,
          churn_max_during_ms: churnMaxDuringMs,
          master_rss_mb: masterRssMb,
          ...(error ? { error } : {}),
        }),
      };
    } finally {
      clearInterval(ticker);
      progress.done();
      await run.stop();
    }
  } finally {
    await env.stop();
  }
}
