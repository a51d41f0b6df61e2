import { startSimulator } from '../../actors/simulator/index.js';
import { Latencies, startLoad } from '../../frameworks/load/index.js';
import { resources as R } from '../../protocol/index.js';
import { PeakWatcher, ProgressLine, processStats, startBenchEnv, summaryLine } from '../common/index.js';

/** IngestOptions are one ingest point (scenario 5 of BENCHMARKS.md). */
export interface IngestOptions {
  agents: number;
  /** Status updates in the burst (each a running task ending at once). */
  burst: number;
  /** How long the steady state (heartbeats only) is measured. */
  steadySeconds: number;
  frameworks: number;
  timeoutMs: number;
  progress?: boolean;
}

/** IngestResult is what one point measured. */
export interface IngestResult {
  options: IngestOptions;
  registerSeconds: number;
  heartbeatsPerSecond: number;
  steadyCpuPercent: number;
  steadyRssMb: number;
  burstSeconds: number;
  updatesPerSecond: number;
  ackP50Ms?: number;
  ackP99Ms?: number;
  burstCpuSeconds: number;
  peakRssMb: number;
  line: string;
}

export const INGEST_DEFAULTS = { burst: 10_000, steadySeconds: 20, frameworks: 10, timeoutMs: 600_000 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * runIngest registers N simulated agents (heartbeating every 5 s) against a master process and
 * measures its steady-state CPU and RSS; then it has `burst` running tasks end at once and times
 * until every terminal update went agent -> master -> framework -> ack -> master -> agent.
 */
export async function runIngest(o: IngestOptions): Promise<IngestResult> {
  const env = await startBenchEnv();
  const progress = new ProgressLine(process.stderr, 10_000, o.progress ?? true);
  const acks = new Latencies(o.burst);
  let burstStarted = false;
  try {
    const peak = new PeakWatcher(env.master.pid);
    const t0 = performance.now();
    const sim = await startSimulator({
      bus: await env.bus('mezzo-sim'),
      subjects: env.subjects,
      agents: o.agents,
      resources: R.parseResources('cpus:32;mem:131072'),
      validateOutgoing: false,
      statusRetryMs: 30_000,
      onAcked: (u, at, now) => {
        if (burstStarted && u.status.state === 'TASK_FINISHED') acks.add(now - at);
      },
    });
    const ticker = setInterval(() => {
      const s = sim.stats();
      progress.update(
        `ingest registered=${s.registered}/${o.agents} heartbeats=${s.heartbeats} acks=${s.acks}`,
      );
    }, 250);
    try {
      await sim.whenRegistered(o.agents, o.timeoutMs);
      const registerSeconds = (performance.now() - t0) / 1000;
      // Let registration's aftermath (the first allocations) settle, then measure heartbeats only.
      await sleep(3000);
      const c0 = processStats(env.master.pid);
      const h0 = sim.stats().heartbeats;
      const s0 = performance.now();
      await sleep(o.steadySeconds * 1000);
      const c1 = processStats(env.master.pid);
      const steadyElapsed = (performance.now() - s0) / 1000;
      const heartbeatsPerSecond = (sim.stats().heartbeats - h0) / steadyElapsed;
      const steadyCpuPercent = ((c1.cpuSeconds - c0.cpuSeconds) / steadyElapsed) * 100;

      // The burst: `burst` tasks that run until told, then all end at once.
      const run = await startLoad({
        bus: await env.bus('mezzo-load'),
        prefix: env.subjects.prefix,
        frameworks: o.frameworks,
        tasks: o.burst,
        taskResources: R.parseResources('cpus:0.01;mem:1'),
        taskDurationMs: 'forever',
      });
      await run.until((s) => s.running >= o.burst, o.timeoutMs);
      await sleep(1000);
      const acked0 = sim.stats().terminalAcked;
      const c2 = processStats(env.master.pid);
      burstStarted = true;
      const b0 = performance.now();
      const ended = sim.endRunning(o.burst);
      await until(() => sim.stats().terminalAcked - acked0 >= ended, o.timeoutMs);
      const burstSeconds = (performance.now() - b0) / 1000;
      const c3 = processStats(env.master.pid);
      peak.stop();
      await run.stop();
      await sim.stop();
      const r = {
        options: o,
        registerSeconds,
        heartbeatsPerSecond,
        steadyCpuPercent,
        steadyRssMb: c1.rssMb,
        burstSeconds,
        updatesPerSecond: ended / burstSeconds,
        ackP50Ms: acks.percentile(0.5),
        ackP99Ms: acks.percentile(0.99),
        burstCpuSeconds: c3.cpuSeconds - c2.cpuSeconds,
        peakRssMb: Math.max(peak.peakRssMb, c3.rssMb),
      };
      return {
        ...r,
        line: summaryLine('ingest', {
          agents: o.agents,
          register_s: r.registerSeconds,
          heartbeats_per_s: r.heartbeatsPerSecond,
          steady_master_cpu_pct: r.steadyCpuPercent,
          steady_master_rss_mb: r.steadyRssMb,
          burst: ended,
          burst_s: r.burstSeconds,
          updates_per_s: r.updatesPerSecond,
          ack_p50_ms: r.ackP50Ms,
          ack_p99_ms: r.ackP99Ms,
          burst_master_cpu_s: r.burstCpuSeconds,
          master_peak_rss_mb: r.peakRssMb,
        }),
      };
    } finally {
      clearInterval(ticker);
      progress.done();
    }
  } finally {
    await env.stop();
  }
}

function until(pred: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pred()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`not done in ${timeoutMs} ms`));
      setTimeout(check, 10);
    };
    check();
  });
}
