import { DURATION_LABEL, type SeedTask, startSimulator } from '../../actors/simulator/index.js';
import { encode } from '../../bus/index.js';
import { startLoad } from '../../frameworks/load/index.js';
import { Operator } from '../../frameworks/sdk/index.js';
import { FrameworkInfo, resources as R, type StateView, TaskInfo, TaskState } from '../../protocol/index.js';
import { ProgressLine, processStats, startBenchEnv, summaryLine } from '../common/index.js';

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
  /** Tasks per GET_STATE page. */
  pageTasks: number;
  timeoutMs: number;
  progress?: boolean;
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
  pageTasks: 10_000,
  timeoutMs: 600_000,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * runState registers N simulated agents that already run `runningPerAgent` tasks and hold
 * `finishedPerAgent` finished ones (reported at registration, as after a failover), subscribes
 * the frameworks, keeps launching short tasks at `churnPerSecond`, and times GET_STATE.
 */
export async function runState(o: StateOptions): Promise<StateResult> {
  const env = await startBenchEnv();
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
      const op = await Operator.connect({
        nats: await env.bus('mezzo-operator'),
        prefix: env.subjects.prefix,
        timeoutMs: 120_000,
      });
      // Churn settles (the first offers), then a quiet window to compare with.
      await sleep(5000);
      const settled = run.latencies.count;
      await sleep(5000);
      const before = run.latencies.count;
      const churnP99BeforeMs = run.latencies.since(settled, 0.99);
      const getStateMs: number[] = [];
      let stateMb: number | undefined;
      let masterTasks = 0;
      let error: string | undefined;
      let pages = 0;
      let pageMaxMs = 0;
      for (let i = 0; i < o.calls; i++) {
        const s0 = performance.now();
        try {
          // The whole state, one page of tasks at a time: one message could not hold them all.
          let from: number | undefined = 0;
          let bytes = 0;
          let tasks = 0;
          pages = 0;
          while (from !== undefined) {
            const p0 = performance.now();
            const view: StateView = await op.call('GET_STATE', { tasksFrom: from, maxTasks: o.pageTasks });
            pageMaxMs = Math.max(pageMaxMs, performance.now() - p0);
            pages++;
            tasks += view.tasks.length;
            if (i === 0) bytes += encode(view).byteLength;
            from = view.nextTasksFrom;
          }
          getStateMs.push(performance.now() - s0);
          masterTasks = tasks;
          if (i === 0) stateMb = bytes / 2 ** 20;
        } catch (err) {
          error = (err as Error).message.replace(/\s+/g, '_').slice(0, 80);
          break;
        }
        await sleep(200);
      }
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
