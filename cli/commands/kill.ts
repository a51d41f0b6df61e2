import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { RemoteError } from '../../bus/index.js';
import { isTerminal } from '../../protocol/index.js';
import { action, type ExitBox, type Streams } from '../action.js';
import type { ConfigFlags } from '../config.js';
import { CliError, ExitCode } from '../errors.js';
import { nonNegativeNumber, withClusterOptions } from '../options.js';
import { withOperator } from './operator-session.js';

/** KillFlags are `mezzo kill`'s options. */
export interface KillFlags extends ConfigFlags {
  framework?: string;
  wait: boolean;
  timeout: number;
}

/**
 * kill asks the master (operator KILL_TASK) to kill a task on its framework's behalf, then, unless
 * --no-wait, polls GET_TASKS until the task reaches a terminal state and prints it.
 */
export async function kill(taskId: string, flags: KillFlags, streams: Streams): Promise<number> {
  return withOperator(flags, 'mezzo-kill', async (op) => {
    let owner: { frameworkId: string; agentId: string };
    try {
      owner = await op.killTask(taskId, flags.framework);
    } catch (err) {
      if (err instanceof RemoteError && (err.code === 'NOT_FOUND' || err.code === 'CONFLICT')) {
        throw new CliError(err.message, ExitCode.FAILURE, { cause: err });
      }
      throw err;
    }
    streams.stderr.write(
      `killing task ${taskId} of framework ${owner.frameworkId} on agent ${owner.agentId}\n`,
    );
    if (!flags.wait) return ExitCode.OK;
    const deadline = Date.now() + flags.timeout * 1000;
    while (Date.now() < deadline) {
      const task = (await op.tasks(owner.frameworkId)).find((t) => t.taskId === taskId);
      if (task && isTerminal(task.state)) {
        streams.stderr.write(`task ${taskId} ${task.state}\n`);
        return ExitCode.OK;
      }
      await sleep(250);
    }
    throw new CliError(`task ${taskId} did not end within ${flags.timeout} s`);
  });
}

/** killCommand is `mezzo kill TASK_ID`. */
export function killCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('kill')
      .description('kill a task, whichever framework runs it, and wait until it has ended')
      .argument('<task-id>', 'the task to kill'),
  )
    .option(
      '--framework <id>',
      'the framework of the task (needed only when two frameworks use the same task id)',
    )
    .option('--no-wait', 'return once the kill is sent')
    .option('--timeout <seconds>', 'how long to wait for the task to end', nonNegativeNumber, 30)
    .action(action(box, streams, (taskId: string, opts: KillFlags) => kill(taskId, opts, streams)));
}
