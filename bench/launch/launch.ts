import { startSimulator } from '../../actors/simulator/index.js';
import { startLoad } from '../../frameworks/load/index.js';
import { resources as R } from '../../protocol/index.js';
import {
  PeakWatcher,
  ProgressLine,
  processStats,
  Rate,
  startBenchEnv,
  summaryLine,
} from '../common/index.js';

/** LaunchOptions are one launch benchmark point (scenario 2 of BENCHMARKS.md). */
export interface LaunchOptions {
  agents: number;
  frameworks: number;
  tasks: number;
  /** Each simulated agent's resources. */
  agentCpus: number;
  agentMem: number;
  /** Each task's resources. */
  taskCpus: number;
  taskMem: number;
  /** How long a task runs (0: RUNNING then FINISHED at once). */
  taskDurationMs: number;
  timeoutMs: number;
  /** node flags for the master process (`--cpu-prof ...`). */
  masterNodeFlags?: string[];
  progress?: boolean;
}

/** LaunchResult is what one point measured. */
export interface LaunchResult {
  options: LaunchOptions;
  registerSeconds: number;
  seconds: number;
  launchesPerSecond: number;
  p50Ms?: number;
  p99Ms?: number;
  finished: number;
  failed: number;
  acked: number;
  masterCpuSeconds: number;
  masterRssMb: number;
  masterPeakRssMb: number;
  line: string;
}

/** A run that makes no progress for this long has failed (a lost ack is retried after 30 s). */
const STALL_MS = 75_000;

export const LAUNCH_DEFAULTS: Omit<LaunchOptions, 'agents' | 'frameworks' | 'tasks'> = {
  agentCpus: 32,
  agentMem: 131_072,
  taskCpus: 0.25,
  taskMem: 64,
  taskDurationMs: 0,
  timeoutMs: 600_000,
};

/**
 * runLaunch starts nats-server and a master process, registers the simulated agents, then has K
 * load frameworks launch the tasks as fast as offers allow and waits until every task reached
 * TASK_FINISHED and its update was acknowledged. The clock runs from the frameworks' start.
 */
export async function runLaunch(o: LaunchOptions): Promise<LaunchResult> {
  const env = await startBenchEnv({ nodeFlags: o.masterNodeFlags });
  const progress = new ProgressLine(process.stderr, 10_000, o.progress ?? true);
  try {
    const tReg = performance.now();
    const sim = await startSimulator({
      bus: await env.bus('mezzo-sim'),
      subjects: env.subjects,
      agents: o.agents,
      resources: R.parseResources(`cpus:${o.agentCpus};mem:${o.agentMem}`),
      taskDurationMs: o.taskDurationMs,
      validateOutgoing: false,
      statusRetryMs: 30_000,
    });
    await sim.whenRegistered(o.agents, o.timeoutMs);
    const registerSeconds = (performance.now() - tReg) / 1000;
    const before = processStats(env.master.pid);
    const peak = new PeakWatcher(env.master.pid);
    const t0 = performance.now();
    const run = await startLoad({
      bus: await env.bus('mezzo-load'),
      prefix: env.subjects.prefix,
      frameworks: o.frameworks,
      tasks: o.tasks,
      taskResources: R.parseResources(`cpus:${o.taskCpus};mem:${o.taskMem}`),
    });
    const rate = new Rate(3000);
    const ticker = setInterval(() => {
      const s = run.stats();
      const t = performance.now();
      const r = rate.sample(t, s.finished);
      progress.update(
        `launch ${((t - t0) / 1000).toFixed(0)}s running+finished=${run.latencies.count}/${o.tasks} finished=${s.finished} acked=${s.terminalAcked} rate=${r.toFixed(0)}/s p99=${(run.latencies.recent(0.99) ?? 0).toFixed(0)}ms failed=${s.failed}`,
      );
    }, 250);
    let s: ReturnType<typeof run.stats>;
    let mark = -1;
    let markAt = performance.now();
    const stalled = (x: ReturnType<typeof run.stats>) => {
      const progressMark = x.acks + x.finished + x.failed + x.launched;
      if (progressMark !== mark) {
        mark = progressMark;
        markAt = performance.now();
      }
      return performance.now() - markAt > STALL_MS;
    };
    try {
      s = await run.until((x) => run.done(x) || stalled(x), o.timeoutMs);
      if (!run.done(s)) throw new Error(`no progress for ${STALL_MS / 1000} s: ${JSON.stringify(s)}`);
    } finally {
      clearInterval(ticker);
      progress.done();
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = processStats(env.master.pid);
    peak.stop();
    await run.stop();
    await sim.stop();
    const result = {
      options: o,
      registerSeconds,
      seconds,
      launchesPerSecond: o.tasks / seconds,
      p50Ms: run.latencies.percentile(0.5),
      p99Ms: run.latencies.percentile(0.99),
      finished: s.finished,
      failed: s.failed,
      acked: s.terminalAcked,
      masterCpuSeconds: after.cpuSeconds - before.cpuSeconds,
      masterRssMb: after.rssMb,
      masterPeakRssMb: Math.max(peak.peakRssMb, after.rssMb),
    };
    return {
      ...result,
      line: summaryLine('launch', {
        agents: o.agents,
        frameworks: o.frameworks,
        tasks: o.tasks,
        seconds: result.seconds,
        launches_per_s: result.launchesPerSecond,
        p50_ms: result.p50Ms,
        p99_ms: result.p99Ms,
        master_cpu_s: result.masterCpuSeconds,
        master_rss_mb: result.masterRssMb,
        finished: result.finished,
        failed: result.failed,
        acked: result.acked,
      }),
    };
  } finally {
    await env.stop();
  }
}
