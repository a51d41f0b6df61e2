import { Command } from 'commander';
import { startMaster } from '../../actors/master/index.js';
import { action, type ExitBox, type Streams } from '../action.js';
import { connectCluster } from '../cluster-connection.js';
import type { ConfigFlags } from '../config.js';
import { ExitCode } from '../errors.js';
import { cliLogger } from '../logging.js';
import { clusterFlags, withClusterOptions } from '../options.js';
import { onShutdownSignals, Teardown } from '../shutdown.js';

/** master runs a master in the foreground until SIGINT or SIGTERM. */
export async function master(flags: ConfigFlags, streams: Streams): Promise<number> {
  const log = cliLogger('mezzo-master', 'info');
  const shutdown = onShutdownSignals(() => process.exit(ExitCode.INTERRUPTED));
  const teardown = new Teardown(log);
  let stoppedCleanly = false;
  try {
    const conn = await connectCluster(clusterFlags(flags), 'mezzo-master', log);
    teardown.add('connection', () => conn.close());
    const handle = await startMaster({ bus: conn.bus, subjects: conn.subjects, log });
    teardown.add('master', () => handle.stop());
    streams.stdout.write(`mezzo master ${handle.masterId} ready ${conn.describe()}\n`);
    log.info({ reason: await shutdown.requested }, 'stopping the master');
  } finally {
    stoppedCleanly = await teardown.run();
    shutdown.dispose();
  }
  return stoppedCleanly ? ExitCode.OK : ExitCode.FAILURE;
}

/** masterCommand is `mezzo master`. */
export function masterCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('master')
      .summary('run a master in the foreground')
      .description(
        'Run a master in the foreground, on the NATS server named by --nats (or MEZZO_NATS_URL, or cluster.json).',
      ),
  ).action(action(box, streams, (opts: ConfigFlags) => master(opts, streams)));
}
