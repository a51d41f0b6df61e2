import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DURATION_LABEL, type SeedTask, startSimulator } from '../../actors/simulator/index.js';
import { startLoad, type TaskHops } from '../../frameworks/load/index.js';
import { Operator } from '../../frameworks/sdk/index.js';
import { FrameworkInfo, resources as R, TaskInfo, TaskState } from '../../protocol/index.js';
import { ProgressLine, processStats, startBenchEnv, summaryLine, watchLoopStalls } from '../common/index.js';

/** ChurnOptions are the churn point (scenario 4 of BENCHMARKS.md). */
export interface ChurnOptions {
  agents: number;
  /** Tasks already running on the agents (reported at registration, spread evenly). */
  running: number;
  frameworks: number;
  /** Short tasks submitted per second. */
  ratePerSecond: number;
  /** How long the churn is measured. */
  seconds: number;
  /** How long each churn task runs. */
  taskDurationMs: number;
  timeoutMs: number;
  /** node flags for the master process (`--cpu-prof ...`). */
  masterNodeFlags?: string[];
  /**
   * Where to keep the evidence of the tail: the master runs with `--trace-gc` (its trace in
   * master-gc.log), and slow-tasks.json lists the slowest tasks' hops and this process's stalls.
   */
  traceDir?: string;
  progress?: boolean;
}

/** ChurnResult is what the point measured. */
export interface ChurnResult {
  options: ChurnOptions;
  registerSeconds: number;
  launched: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
  masterCpuPercent: number;
  masterRssMb: number;
  /** The master's allocation run time (GET_METRICS, over its last 100 runs). */
  allocationRunP50Ms?: number;
  allocationRunP99Ms?: number;
  /** This process's event loop delay p99 and max (ms) while measuring. */
  benchLoopP99Ms: number;
  benchLoopMaxMs: number;
  line: string;
}

export const CHURN_DEFAULTS: ChurnOptions = {
  agents: 5000,
  running: 150_000,
  frameworks: 10,
  ratePerSecond: 20,
  seconds: 30,
  taskDurationMs: 1000,
  timeoutMs: 600_000,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** WIND_DOWN_SECONDS of tasks are submitted after the measured ones, and not measured. */
const WIND_DOWN_SECONDS = 3;

/**
 * runChurn brings up agents that already run `running` long tasks, subscribes the frameworks,
 * then submits short tasks at a steady rate and measures submit-to-RUNNING (waiting for an offer
 * included) over `seconds`.
 */
export async function runChurn(o: ChurnOptions): Promise<ChurnResult> {
  if (o.traceDir) mkdirSync(o.traceDir, { recursive: true });
  const env = await startBenchEnv({
    nodeFlags: [...(o.masterNodeFlags ?? []), ...(o.traceDir ? ['--trace-gc'] : [])],
    masterStdoutFile: o.traceDir ? join(o.traceDir, 'master-gc.log') : undefined,
  });
  const progress = new ProgressLine(process.stderr, 10_000, o.progress ?? true);
  try {
    const frameworks = Array.from({ length: o.frameworks }, (_, i) =>
      FrameworkInfo.parse({ id: `churn-${i}`, name: `load-churn-${i}`, failoverTimeoutSeconds: 3600 }),
    );
    const resources = R.parseResources('cpus:0.1;mem:32');
    const perAgent = Math.floor(o.running / o.agents);
    const extra = o.running % o.agents;
    const seed = (i: number): SeedTask[] =>
      Array.from({ length: perAgent + (i < extra ? 1 : 0) }, (_, k) => ({
        framework: frameworks[(i + k) % frameworks.length],
        task: TaskInfo.parse({
          taskId: `r${i}-${k}`,
          name: 'long',
          resources,
          command: { value: 'true' },
          labels: { [DURATION_LABEL]: 'forever' },
        }),
        state: TaskState.RUNNING,
      }));
    const t0 = performance.now();
    const sim = await startSimulator({
      bus: await env.bus('mezzo-sim'),
      subjects: env.subjects,
      agents: o.agents,
      resources: R.parseResources('cpus:32;mem:131072'),
      validateOutgoing: false,
      taskDurationMs: o.taskDurationMs,
      seed,
    });
    await sim.whenRegistered(o.agents, o.timeoutMs);
    const registerSeconds = (performance.now() - t0) / 1000;
    const total = Math.ceil(o.ratePerSecond * o.seconds);
    // The churn goes on for a few seconds past the measured tasks: each framework gives its offers
    // back once its share is launched, and that wind-down of the load generator is no churn.
    const windDown = Math.ceil(o.ratePerSecond * WIND_DOWN_SECONDS);
    const run = await startLoad({
      bus: await env.bus('mezzo-load'),
      prefix: env.subjects.prefix,
      frameworks: o.frameworks,
      idPrefix: 'churn',
      tasks: total + windDown,
      sampleFirst: total,
      taskResources: resources,
      taskDurationMs: o.taskDurationMs,
      ratePerSecond: o.ratePerSecond,
      traceHops: !!o.traceDir,
    });
    const loop = watchLoopStalls();
    const c0 = processStats(env.master.pid);
    const s0 = performance.now();
    const ticker = setInterval(() => {
      const s = run.stats();
      progress.update(
        `churn submitted=${s.submitted}/${total} running+ended=${run.latencies.count} p99=${(run.latencies.recent(0.99) ?? 0).toFixed(1)}ms`,
      );
    }, 250);
    try {
      await run.until(() => run.latencies.count + run.stats().failed >= total, o.timeoutMs);
    } finally {
      clearInterval(ticker);
      progress.done();
    }
    const elapsed = (performance.now() - s0) / 1000;
    const c1 = processStats(env.master.pid);
    loop.stop();
    if (o.traceDir) writeTrace(o.traceDir, env.master.spawnedAt, run.slowest(5000), loop.stalls());
    // The master's own view of its allocation runs, to tell allocation time from transport time.
    const op = await Operator.connect({ nats: await env.bus('mezzo-operator'), prefix: env.subjects.prefix });
    const { metrics } = await op.call('GET_METRICS');
    await sleep(o.taskDurationMs);
    await run.stop();
    await sim.stop();
    const r = {
      options: o,
      registerSeconds,
      launched: run.latencies.count,
      p50Ms: run.latencies.percentile(0.5),
      p99Ms: run.latencies.percentile(0.99),
      maxMs: run.latencies.percentile(1),
      masterCpuPercent: ((c1.cpuSeconds - c0.cpuSeconds) / elapsed) * 100,
      masterRssMb: c1.rssMb,
      allocationRunP50Ms: metrics['allocator/allocation_run_ms/p50'],
      allocationRunP99Ms: metrics['allocator/allocation_run_ms/p99'],
      benchLoopP99Ms: loop.delayMs(99),
      benchLoopMaxMs: loop.delayMs(100),
    };
    return {
      ...r,
      line: summaryLine('churn', {
        agents: o.agents,
        running: o.running,
        rate: o.ratePerSecond,
        seconds: o.seconds,
        launched: r.launched,
        p50_ms: r.p50Ms,
        p99_ms: r.p99Ms,
        max_ms: r.maxMs,
        master_cpu_pct: r.masterCpuPercent,
        master_rss_mb: r.masterRssMb,
        alloc_run_p50_ms: r.allocationRunP50Ms,
        alloc_run_p99_ms: r.allocationRunP99Ms,
        bench_loop_p99_ms: r.benchLoopP99Ms,
        bench_loop_max_ms: r.benchLoopMaxMs,
        register_s: registerSeconds,
      }),
    };
  } finally {
    await env.stop();
  }
}

/**
 * writeTrace keeps the slowest tasks' hops and this process's stalls, in epoch ms and in ms since
 * the master was spawned (the clock of its `--trace-gc` lines), so a slow task can be laid next to
 * a GC pause in the master or a stall here.
 */
function writeTrace(
  dir: string,
  masterSpawnedAt: number,
  slow: TaskHops[],
  stalls: { at: number; lateMs: number }[],
): void {
  const epoch = (t: number) => performance.timeOrigin + t;
  const round = (x: number) => Math.round(x * 10) / 10;
  const tasks = slow.map((h) => ({
    taskId: h.taskId,
    frameworkId: h.frameworkId,
    latencyMs: round(h.latencyMs),
    waitForOfferMs: round(h.launchedAt - h.submittedAt),
    acceptToRunningMs: round(h.runningAt - h.launchedAt),
    submittedMasterMs: Math.round(epoch(h.submittedAt) - masterSpawnedAt),
    submittedAt: new Date(epoch(h.submittedAt)).toISOString(),
  }));
  const benchStalls = stalls.map((s) => ({
    lateMs: round(s.lateMs),
    masterMs: Math.round(s.at - masterSpawnedAt),
    at: new Date(s.at).toISOString(),
  }));
  writeFileSync(join(dir, 'slow-tasks.json'), `${JSON.stringify({ tasks, benchStalls }, null, 1)}\n`);
}
