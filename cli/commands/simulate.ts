import { Command, InvalidArgumentError } from 'commander';
import { startSimulator } from '../../actors/simulator/index.js';
import { ProgressLine, Rate } from '../../bench/common/progress.js';
import { resources as R } from '../../protocol/index.js';
import { action, type ExitBox, type Streams } from '../action.js';
import { connectCluster } from '../cluster-connection.js';
import type { ConfigFlags } from '../config.js';
import { CliError, ExitCode } from '../errors.js';
import { cliLogger } from '../logging.js';
import { clusterFlags, nonNegativeNumber, positiveInteger, withClusterOptions } from '../options.js';
import { onShutdownSignals, Teardown } from '../shutdown.js';

/** SimulateFlags are `mezzo simulate`'s options. */
export interface SimulateFlags extends ConfigFlags {
  agents: number;
  cpus: number;
  mem: number;
  disk?: number;
  attributes?: string;
  durationMs: number;
  idPrefix?: string;
  progress?: boolean;
}

/** simulatedResources builds each simulated agent's resources from the flags. */
export function simulatedResources(flags: Pick<SimulateFlags, 'cpus' | 'mem' | 'disk'>): string {
  if (!(flags.cpus > 0) || !(flags.mem > 0))
    throw new CliError('--cpus and --mem must be above 0', ExitCode.USAGE);
  return `cpus:${flags.cpus};mem:${flags.mem}${flags.disk ? `;disk:${flags.disk}` : ''}`;
}

/**
 * simulate runs many simulated agents in this process until SIGINT or SIGTERM: each registers,
 * heartbeats and takes tasks like a real agent, but a task only "runs" for --duration-ms. A
 * progress line shows registrations, tasks and updates.
 */
export async function simulate(flags: SimulateFlags, streams: Streams): Promise<number> {
  const resources = simulatedResources(flags);
  let attributes: Record<string, string> | undefined;
  try {
    R.parseResources(resources);
    if (flags.attributes) attributes = R.parseAttributes(flags.attributes);
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.USAGE);
  }
  if (flags.idPrefix !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]{0,100}$/.test(flags.idPrefix))
    throw new CliError('--id-prefix takes letters, digits, "_" and "-" (at most 101)', ExitCode.USAGE);
  const log = cliLogger('mezzo-simulate', 'warn');
  const shutdown = onShutdownSignals(() => process.exit(ExitCode.INTERRUPTED));
  const teardown = new Teardown(log);
  let stoppedCleanly = false;
  try {
    const conn = await connectCluster(clusterFlags(flags), 'mezzo-simulate', log);
    teardown.add('connection', () => conn.close());
    const sim = await startSimulator({
      bus: conn.bus,
      subjects: conn.subjects,
      agents: flags.agents,
      resources: R.parseResources(resources),
      ...(attributes ? { attributes } : {}),
      taskDurationMs: flags.durationMs,
      ...(flags.idPrefix ? { idPrefix: flags.idPrefix } : {}),
      log,
    });
    // Graceful: each simulated agent says UNREGISTER, so the master frees it at once.
    teardown.add('simulated agents', () => sim.stop({ unregister: true }), 30_000);
    streams.stdout.write(
      `mezzo simulate agents=${flags.agents} resources=${resources} task_duration_ms=${flags.durationMs} ${conn.describe()}\n`,
    );
    const progress = new ProgressLine(
      streams.stderr as NodeJS.WritableStream,
      10_000,
      flags.progress !== false,
    );
    const rate = new Rate(3000);
    const started = Date.now();
    const ticker = setInterval(() => {
      const s = sim.stats();
      const perSecond = rate.sample(Date.now(), s.launched);
      progress.update(
        `simulate ${Math.round((Date.now() - started) / 1000)}s registered=${s.registered}/${s.agents} running=${s.running} launched=${s.launched} (${perSecond.toFixed(0)}/s) updates=${s.updatesSent} acks=${s.acks} retries=${s.retries}`,
      );
    }, 500);
    teardown.add('progress', async () => {
      clearInterval(ticker);
      progress.done();
    });
    log.info({ reason: await shutdown.requested }, 'stopping the simulated agents');
  } finally {
    stoppedCleanly = await teardown.run();
    shutdown.dispose();
  }
  return stoppedCleanly ? ExitCode.OK : ExitCode.FAILURE;
}

function positiveNumber(value: string): number {
  const n = nonNegativeNumber(value);
  if (n <= 0) throw new InvalidArgumentError('expected a number above 0');
  return n;
}

/** simulateCommand is `mezzo simulate`. */
export function simulateCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('simulate')
      .summary('run many simulated agents, to rehearse a large cluster')
      .description(
        'Run simulated agents in this process, on one NATS connection. Each speaks the real agent protocol ' +
          '(registration, heartbeats, tasks, reliable status updates, re-registration after a master restart) but ' +
          'runs no process: a task is RUNNING at once and FINISHED after --duration-ms (or its ' +
          '"mezzo.sim/duration-ms" label). Ctrl-C unregisters them and stops.',
      )
      .option('--agents <n>', 'how many simulated agents', positiveInteger, 100)
      .option('--cpus <n>', 'cpus of each agent', positiveNumber, 32)
      .option('--mem <mb>', 'memory of each agent (MB)', positiveNumber, 131_072)
      .option('--disk <mb>', 'disk of each agent (MB)', positiveNumber)
      .option('--attributes <attributes>', "e.g. 'rack:a;zone:west'")
      .option('--duration-ms <ms>', 'how long a task runs', nonNegativeNumber, 10_000)
      .option('--id-prefix <prefix>', 'agent ids are <prefix>-<n> (default sim-<random>)')
      .option('--no-progress', 'no progress line on stderr'),
  ).action(action(box, streams, (opts: SimulateFlags) => simulate(opts, streams)));
}
