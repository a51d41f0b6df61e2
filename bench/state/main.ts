import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TasksAs } from '../../protocol/index.js';
import {
  appendSection,
  machineLine,
  nodeFlags,
  positiveInt,
  RESULT_OPTIONS,
  runBench,
} from '../common/index.js';
import { runState, STATE_DEFAULTS, type StateResult } from './index.js';

const HELP = `usage: npm run bench:state -- [options]

Simulated agents register with ${STATE_DEFAULTS.runningPerAgent} running and ${STATE_DEFAULTS.finishedPerAgent} finished tasks each (reported at registration),
${STATE_DEFAULTS.frameworks} frameworks subscribe and keep launching short tasks; operator GET_STATE is timed
meanwhile, with the launch latency of the churn before and during. Prints per point
  state agents=N running=.. finished=.. tasks_in_state=.. state_mb=.. get_state_p50_ms=.. get_state_max_ms=.. pages=.. page_max_ms=.. tasks_as=.. materialize_ms=.. churn_p99_before_ms=.. churn_p99_during_ms=.. ...
and appends them to bench/RESULTS.md.

  --agents N          one point (default: 10000 and 40000)
  --calls N           GET_STATE calls (default ${STATE_DEFAULTS.calls})
  --page N            tasks per page at most (default ${STATE_DEFAULTS.pageTasks}; a table page also stops at half the server max_payload, at most 4 MiB)
  --as table|objects  tasks and agents as columnar tables (default) or as objects
  --profile DIR       run the master under node --cpu-prof (profiles into DIR) and --trace-gc (DIR/master-gc.log)
  --master-node-flags='...'  more node flags for the master (e.g. '--trace-incremental-marking' with --profile;
                      it runs with --max-semi-space-size=64 unless these set another size)
  --master-log FILE   keep the master's stdout (what --trace-gc writes) in FILE; the bench prints when the reads
                      ran, in ms after the master started, to stderr
  --note TEXT         a note to keep with the result
  --no-write          do not append to the results file
  --results PATH      results file (default bench/RESULTS.md)
`;

/** tasksAs parses `--as`. */
function tasksAs(text: string | undefined): TasksAs {
  const parsed = TasksAs.safeParse(text ?? STATE_DEFAULTS.tasksAs);
  if (!parsed.success) throw new Error(`--as takes ${TasksAs.options.join(' or ')}, not "${text}"`);
  return parsed.data;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string' },
      calls: { type: 'string' },
      page: { type: 'string' },
      as: { type: 'string' },
      profile: { type: 'string' },
      'master-node-flags': { type: 'string' },
      'master-log': { type: 'string' },
      ...RESULT_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.profile) mkdirSync(values.profile, { recursive: true });
  const points = values.agents ? [positiveInt('agents', values.agents, 0)] : [10_000, 40_000];
  const results: StateResult[] = [];
  for (const agents of points) {
    const r = await runState({
      ...STATE_DEFAULTS,
      agents,
      calls: positiveInt('calls', values.calls, STATE_DEFAULTS.calls),
      pageTasks: positiveInt('page', values.page, STATE_DEFAULTS.pageTasks),
      tasksAs: tasksAs(values.as),
      masterNodeFlags: [
        ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`, '--trace-gc'] : []),
        ...nodeFlags(values['master-node-flags']),
      ],
      ...(values.profile ? { masterStdoutFile: join(values.profile, 'master-gc.log') } : {}),
      ...(values['master-log'] ? { masterStdoutFile: values['master-log'] } : {}),
    });
    process.stdout.write(`${r.line}\n`);
    results.push(r);
  }
  if (values['no-write']) return;
  appendSection(
    values.results as string,
    [
      `## state, ${new Date().toISOString().slice(0, 10)}`,
      '',
      machineLine(),
      '',
      '```',
      ...results.map((r) => r.line),
      '```',
      '',
      `GET_STATE through the operator API over NATS (request, encode, transfer, decode and validation in the client included), tasks and agents as ${results[0].options.tasksAs ?? 'table'}, all pages of at most ${results[0].options.pageTasks} tasks, ${results[0].options.calls} times one after the other (get_state_*: the whole state; page_max_ms: the longest single answer; state_mb: the raw replies; materialize_ms: making every row of a table into a TaskView object, once, outside get_state); ` +
        `meanwhile ${results[0].options.churnPerSecond} short tasks/s are launched and their submit-to-RUNNING latency is compared before and during. ` +
        'The master keeps at most 1000 completed tasks per framework, so the finished tasks in the view are capped by that.' +
        (values.note ? ` ${values.note}` : ''),
    ].join('\n'),
  );
  process.stdout.write(`# appended to ${values.results}\n`);
}

runBench('bench:state', main);
