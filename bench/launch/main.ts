import { parseArgs } from 'node:util';
import {
  appendSection,
  machineLine,
  nonNegative,
  positiveInt,
  RESULT_OPTIONS,
  runBench,
} from '../common/index.js';
import { CHURN_DEFAULTS, LAUNCH_DEFAULTS, type LaunchResult, runChurn, runLaunch } from './index.js';

const HELP = `usage: npm run bench:launch -- [options]

A real master (its own process) and real NATS; simulated agents (many per process, the real agent
protocol) and K load frameworks launching short tasks as fast as offers allow. Prints
  launch agents=N frameworks=K tasks=T seconds=S launches_per_s=R p50_ms=.. p99_ms=.. master_cpu_s=.. master_rss_mb=..
and appends it to bench/RESULTS.md.

  --agents N (default 1000)   --frameworks K (default 10)   --tasks T (default 100000)
  --agent-cpus X (32) --agent-mem MB (131072) --task-cpus X (0.25) --task-mem MB (64)
  --duration-ms MS            how long each task runs (default 0: RUNNING then FINISHED at once)
  --profile DIR               run the master under node --cpu-prof, profiles into DIR

  --churn                     scenario 4 instead: --agents (5000) already running --running (150000)
                              tasks, short tasks submitted at --rate (20/s) for --seconds (30); prints
                              churn agents=.. running=.. rate=.. p50_ms=.. p99_ms=.. (submit to RUNNING)
  --trace DIR                 (churn) the master under --trace-gc (DIR/master-gc.log) and the slowest
                              tasks' hops with this process's event loop stalls (DIR/slow-tasks.json)
  --note TEXT                 a note to keep with the result
  --no-write                  do not append to the results file
  --results PATH              results file (default bench/RESULTS.md)
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string' },
      frameworks: { type: 'string' },
      tasks: { type: 'string' },
      'agent-cpus': { type: 'string' },
      'agent-mem': { type: 'string' },
      'task-cpus': { type: 'string' },
      'task-mem': { type: 'string' },
      'duration-ms': { type: 'string' },
      'timeout-s': { type: 'string' },
      profile: { type: 'string' },
      trace: { type: 'string' },
      churn: { type: 'boolean', default: false },
      running: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      ...RESULT_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.churn) return churn(values);
  const d = LAUNCH_DEFAULTS;
  const r: LaunchResult = await runLaunch({
    agents: positiveInt('agents', values.agents, 1000),
    frameworks: positiveInt('frameworks', values.frameworks, 10),
    tasks: positiveInt('tasks', values.tasks, 100_000),
    agentCpus: nonNegative('agent-cpus', values['agent-cpus'], d.agentCpus),
    agentMem: nonNegative('agent-mem', values['agent-mem'], d.agentMem),
    taskCpus: nonNegative('task-cpus', values['task-cpus'], d.taskCpus),
    taskMem: nonNegative('task-mem', values['task-mem'], d.taskMem),
    taskDurationMs: nonNegative('duration-ms', values['duration-ms'], d.taskDurationMs),
    timeoutMs: positiveInt('timeout-s', values['timeout-s'], d.timeoutMs / 1000) * 1000,
    masterNodeFlags: values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : undefined,
  });
  process.stdout.write(`${r.line}\n`);
  if (values['no-write']) return;
  const o = r.options;
  appendSection(
    values.results as string,
    [
      `## launch, ${new Date().toISOString().slice(0, 10)}`,
      '',
      machineLine(),
      '',
      '```',
      r.line,
      '```',
      '',
      `Agents of cpus:${o.agentCpus};mem:${o.agentMem}, tasks of cpus:${o.taskCpus};mem:${o.taskMem} running ${o.taskDurationMs} ms; ` +
        `${r.options.agents} agents registered in ${r.registerSeconds.toFixed(1)} s (not counted). Latency is ACCEPT sent to TASK_RUNNING received by the framework. ` +
        `Master peak RSS ${r.masterPeakRssMb.toFixed(0)} MiB.${values.note ? ` ${values.note}` : ''}`,
    ].join('\n'),
  );
  process.stdout.write(`# appended to ${values.results}\n`);
}

async function churn(values: Record<string, string | boolean | undefined>): Promise<void> {
  const str = (k: string) => values[k] as string | undefined;
  const c = CHURN_DEFAULTS;
  const r = await runChurn({
    ...c,
    agents: positiveInt('agents', str('agents'), c.agents),
    running: positiveInt('running', str('running'), c.running),
    frameworks: positiveInt('frameworks', str('frameworks'), c.frameworks),
    ratePerSecond: nonNegative('rate', str('rate'), c.ratePerSecond),
    seconds: positiveInt('seconds', str('seconds'), c.seconds),
    taskDurationMs: nonNegative('duration-ms', str('duration-ms'), c.taskDurationMs),
    masterNodeFlags: str('profile') ? ['--cpu-prof', `--cpu-prof-dir=${str('profile')}`] : undefined,
    traceDir: str('trace'),
  });
  process.stdout.write(`${r.line}\n`);
  if (values['no-write']) return;
  appendSection(
    values.results as string,
    [
      `## churn, ${new Date().toISOString().slice(0, 10)}`,
      '',
      machineLine(),
      '',
      '```',
      r.line,
      '```',
      '',
      `${r.options.running} tasks already running (reported by the agents at registration), ${r.options.frameworks} frameworks; ` +
        `short tasks (${r.options.taskDurationMs} ms) submitted at ${r.options.ratePerSecond}/s; latency from submission to TASK_RUNNING at the framework, waiting for an offer included; the churn goes on 3 s past the measured tasks, so the load winding down is not measured.` +
        (values.note ? ` ${values.note}` : ''),
    ].join('\n'),
  );
  process.stdout.write(`# appended to ${values.results}\n`);
}

runBench('bench:launch', main);
