import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { RemoteError } from '../../bus/index.js';
import type { ContainerStatus } from '../../protocol/index.js';
import { action, type ExitBox, type Streams } from '../action.js';
import type { ConfigFlags } from '../config.js';
import { CliError, ExitCode } from '../errors.js';
import { nonNegativeNumber, positiveInteger, withClusterOptions } from '../options.js';
import { topRows, topTable } from '../top.js';
import { withOperator } from './operator-session.js';

/** TopFlags are `mezzo top`'s options. */
export interface TopFlags extends ConfigFlags {
  agent?: string;
  framework?: string;
  interval: number;
  iterations?: number;
  json?: boolean;
}

const CLEAR = '\x1b[H\x1b[2J';

/**
 * top samples GET_CONTAINERS every `interval` seconds and prints each container's cpu use (from
 * the last two samples), memory and processes, redrawing in place on a terminal. It runs until
 * interrupted, or for `iterations` frames; each frame needs a previous sample, so the first one
 * comes one interval after start.
 */
export async function top(flags: TopFlags, streams: Streams, signal?: AbortSignal): Promise<number> {
  return withOperator(flags, 'mezzo-top', async (op) => {
    const sample = async () => {
      try {
        return await op.containers({ agentId: flags.agent, frameworkId: flags.framework });
      } catch (err) {
        if (err instanceof RemoteError && err.code === 'NOT_FOUND')
          throw new CliError(err.message, ExitCode.FAILURE, { cause: err });
        throw err;
      }
    };
    const tty = (streams.stdout as NodeJS.WriteStream).isTTY === true && !flags.json;
    let prev: ContainerStatus[] = (await sample()).containers;
    for (let frame = 0; flags.iterations === undefined || frame < flags.iterations; frame++) {
      try {
        await sleep(Math.max(0.1, flags.interval) * 1000, undefined, { signal });
      } catch {
        break; // interrupted
      }
      const view = await sample();
      const rows = topRows(prev, view.containers);
      prev = view.containers;
      if (flags.json) {
        streams.stdout.write(`${JSON.stringify({ containers: rows, unanswered: view.unanswered })}\n`);
        continue;
      }
      const missing = view.unanswered.length
        ? `\n(no answer from agents: ${view.unanswered.join(', ')})`
        : '';
      const stamp = new Date().toISOString().slice(11, 19);
      streams.stdout.write(
        `${tty ? CLEAR : ''}mezzo top  ${stamp}  ${rows.length} containers\n${topTable(rows)}${missing}\n`,
      );
    }
    return ExitCode.OK;
  });
}

/** topCommand is `mezzo top`: live resource usage per task. */
export function topCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(new Command('top').description('show live resource usage of each running task'))
    .option('--agent <id>', 'only the containers of this agent')
    .option('--framework <id>', 'only the containers of this framework')
    .option('-i, --interval <seconds>', 'seconds between samples', nonNegativeNumber, 2)
    .option(
      '-n, --iterations <count>',
      'stop after this many frames (default: until interrupted)',
      positiveInteger,
    )
    .option('--json', 'print each frame as one JSON line')
    .action(
      action(box, streams, (opts: TopFlags) => {
        const ac = new AbortController();
        const stop = () => ac.abort();
        process.once('SIGINT', stop);
        return top(opts, streams, ac.signal).finally(() => process.off('SIGINT', stop));
      }),
    );
}
