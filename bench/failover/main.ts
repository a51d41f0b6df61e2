import { parseArgs } from 'node:util';
import {
  appendSection,
  machineLine,
  nodeFlags,
  nonNegative,
  positiveInt,
  summaryLine,
} from '../common/index.js';
import { runFailover } from './failover.js';

const HELP = `usage: npm run bench:failover -- [options]

Two masters (their own processes) elect a leader on one nats-server; N simulated agents register
holding M running tasks; the leader is killed with SIGKILL. Prints
  failover agents=N tasks=M reregistered_ms=.. elected_ms=.. resubscribed_ms=.. tasks_known=.. register_failures=.. digest_registrations=.. digest_mismatches=.. leader_main_cpu_ms=.. leader_cpu_ms=.. bench_cpu_ms=.. nats_cpu_ms=.. total_cpu_ms=..
(from the kill: until every agent has re-registered with the standby and every framework has
resubscribed with it; until the standby leads; until the frameworks alone are back; REGISTERs that
failed after the kill and were retried; REGISTERs the new leader took with a digest of the
running tasks (from what it had followed as a standby), and digests it had no matching copy for;
CPU time from the kill until every agent was back of the new leader's main thread, of its whole
process, of the bench's own process (simulated agents and frameworks), of the nats-server, and of
the three together) and appends it to bench/RESULTS.md. Anchor: Mesos 1.5, 10k agents + 100k
tasks re-registered in ~4.5 s.

  --agents N (default 1000)   --tasks M (default 10 per agent)   --frameworks F (default 5)
  --lease-ttl MS (default: the master's own, see mezzo master --help)   --timeout-s S (default 300)
  --master-node-flags='...' (node flags for the masters, e.g. '--cpu-prof --cpu-prof-dir=prof';
      the masters run with --max-semi-space-size=64 unless these set another size)
  --register-concurrency N (REGISTERs each simulator keeps in flight; default 128)
  --no-digests (the agents send every task in every REGISTER, as agents that take no digest do)
  --settle-ms MS (how long the cluster runs after the registry holds every agent, before the kill;
      default 0: at once, possibly while the standby still catches up with the registration)
  --no-write   --results PATH (default bench/RESULTS.md)
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string' },
      tasks: { type: 'string' },
      frameworks: { type: 'string' },
      'lease-ttl': { type: 'string' },
      'master-node-flags': { type: 'string' },
      'register-concurrency': { type: 'string' },
      'settle-ms': { type: 'string' },
      'no-digests': { type: 'boolean', default: false },
      'timeout-s': { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      results: { type: 'string', default: 'bench/RESULTS.md' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const agents = positiveInt('agents', values.agents, 1000);
  const r = await runFailover({
    agents,
    tasks: positiveInt('tasks', values.tasks, agents * 10),
    frameworks: positiveInt('frameworks', values.frameworks, 5),
    ...(values['lease-ttl'] !== undefined
      ? { leaseTtlMs: positiveInt('lease-ttl', values['lease-ttl'], 0) }
      : {}),
    timeoutMs: positiveInt('timeout-s', values['timeout-s'], 300) * 1000,
    masterNodeFlags: nodeFlags(values['master-node-flags']),
    ...(values['register-concurrency'] !== undefined
      ? { registerConcurrency: positiveInt('register-concurrency', values['register-concurrency'], 128) }
      : {}),
    ...(values['settle-ms'] !== undefined
      ? { settleMs: nonNegative('settle-ms', values['settle-ms'], 0) }
      : {}),
    digests: !values['no-digests'],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const line = summaryLine('failover', {
    agents: r.agents,
    tasks: r.tasks,
    reregistered_ms: r.reregisteredMs,
    elected_ms: r.electedMs,
    resubscribed_ms: r.resubscribedMs,
    tasks_known: r.tasksKnown,
    register_failures: r.registerFailures,
    digest_registrations: r.digestRegistrations,
    digest_mismatches: r.digestMismatches,
    leader_main_cpu_ms: r.leaderMainCpuMs,
    leader_cpu_ms: r.leaderCpuMs,
    bench_cpu_ms: r.benchCpuMs,
    nats_cpu_ms: r.natsCpuMs,
    total_cpu_ms: r.leaderCpuMs + r.benchCpuMs + r.natsCpuMs,
  });
  process.stdout.write(`${line}\n`);
  if (!values['no-write'])
    appendSection(values.results as string, `## failover\n\n${machineLine()}\n\n    ${line}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench:failover: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
