import { Command } from 'commander';
import type { AgentView, MasterInfo } from '../../protocol/index.js';
import { action, type ExitBox, type Streams } from '../action.js';
import type { ConfigFlags } from '../config.js';
import { ExitCode } from '../errors.js';
import { withClusterOptions } from '../options.js';
import { withOperator } from './operator-session.js';

/** StatusFlags are `mezzo status`'s options. */
export interface StatusFlags extends ConfigFlags {
  json?: boolean;
}

/** formatDuration writes milliseconds as `2h03m`, `4m05s` or `12.3s`. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** formatStatus is what `mezzo status` prints: who leads, in which epoch, since when, and the agents. */
export function formatStatus(info: MasterInfo, agents: readonly AgentView[]): string {
  const count = (s: AgentView['status']) => agents.filter((a) => a.status === s).length;
  const lines = [
    `leader      ${info.masterId}${info.ha ? ` (epoch ${info.epoch}, elected)` : ' (single master, no election)'}`,
    `leading     ${formatDuration(info.leadingForMs)} (since ${new Date(info.electedAt).toISOString()})`,
    `agents      ${count('ACTIVE')} active, ${count('UNREACHABLE')} unreachable, ${count('REMOVED')} removed`,
  ];
  if (info.recoveringAgents > 0)
    lines.push(`recovering  waiting for ${info.recoveringAgents} agents to re-register after the failover`);
  return `${lines.join('\n')}\n`;
}

/** status prints the leading master's GET_MASTER and a count of the agents. */
export async function status(flags: StatusFlags, streams: Streams): Promise<number> {
  return withOperator(flags, 'mezzo-status', async (op) => {
    const info = await op.master();
    const agents = await op.agents();
    if (flags.json) streams.stdout.write(`${JSON.stringify({ master: info, agents: agents.length })}\n`);
    else streams.stdout.write(formatStatus(info, agents));
    return ExitCode.OK;
  });
}

/** statusCommand is `mezzo status`. */
export function statusCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('status').description(
      'show which master leads, in which epoch and for how long, and how many agents it has',
    ),
  )
    .option('--json', 'print JSON')
    .action(action(box, streams, (opts: StatusFlags) => status(opts, streams)));
}
