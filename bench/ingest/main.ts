import { parseArgs } from 'node:util';
import { appendSection, machineLine, positiveInt, RESULT_OPTIONS, runBench } from '../common/index.js';
import { INGEST_DEFAULTS, type IngestResult, runIngest } from './index.js';

const HELP = `usage: npm run bench:ingest -- [options]

Simulated agents register and heartbeat (every 5 s) against a master process; the master's
steady CPU and RSS are measured, then a burst of status updates (running tasks ending at once)
is timed until every update is acknowledged back to its agent. Prints per point
  ingest agents=N register_s=.. heartbeats_per_s=.. steady_master_cpu_pct=.. steady_master_rss_mb=.. burst=.. burst_s=.. updates_per_s=.. ack_p50_ms=.. ack_p99_ms=.. ...
and appends them to bench/RESULTS.md.

  --agents N          one point (default: 10000 and 50000)
  --burst N           status updates in the burst (default ${INGEST_DEFAULTS.burst})
  --steady-s S        seconds of steady state measured (default ${INGEST_DEFAULTS.steadySeconds})
  --note TEXT         a note to keep with the result
  --no-write          do not append to the results file
  --results PATH      results file (default bench/RESULTS.md)
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string' },
      burst: { type: 'string' },
      'steady-s': { type: 'string' },
      ...RESULT_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const points = values.agents ? [positiveInt('agents', values.agents, 0)] : [10_000, 50_000];
  const results: IngestResult[] = [];
  for (const agents of points) {
    const r = await runIngest({
      ...INGEST_DEFAULTS,
      agents,
      burst: positiveInt('burst', values.burst, INGEST_DEFAULTS.burst),
      steadySeconds: positiveInt('steady-s', values['steady-s'], INGEST_DEFAULTS.steadySeconds),
    });
    process.stdout.write(`${r.line}\n`);
    results.push(r);
  }
  if (values['no-write']) return;
  appendSection(
    values.results as string,
    [
      `## ingest, ${new Date().toISOString().slice(0, 10)}`,
      '',
      machineLine(),
      '',
      '```',
      ...results.map((r) => r.line),
      '```',
      '',
      `Agents of cpus:32;mem:131072 heartbeating every 5 s; steady state measured over ${results[0].options.steadySeconds} s after registration settled. ` +
        'The burst: that many running tasks end at once on the simulated agents; ack latency is from the agent sending TASK_FINISHED to its STATUS_UPDATE_ACK arriving (through the master, the framework and back).' +
        (values.note ? ` ${values.note}` : ''),
    ].join('\n'),
  );
  process.stdout.write(`# appended to ${values.results}\n`);
}

runBench('bench:ingest', main);
