import { Command } from 'commander';
import { action, type ExitBox, type Streams } from '../action.js';
import type { ConfigFlags } from '../config.js';
import { ExitCode } from '../errors.js';
import { agentsTable, frameworksTable, tasksTable } from '../format.js';
import { withClusterOptions } from '../options.js';
import { withOperator } from './operator-session.js';

/** ListFlags are the options of the listing commands. */
export interface ListFlags extends ConfigFlags {
  json?: boolean;
  framework?: string;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** agentsCommand is `mezzo agents`: each agent with its resources used of total. */
export function agentsCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('agents').description('list the agents with their used and total resources'),
  )
    .option('--json', 'print the operator GET_AGENTS result as JSON')
    .action(
      action(box, streams, (opts: ListFlags) =>
        withOperator(opts, 'mezzo-agents', async (op) => {
          const agents = await op.agents();
          streams.stdout.write(opts.json ? json({ agents }) : `${agentsTable(agents, Date.now())}\n`);
          return ExitCode.OK;
        }),
      ),
    );
}

/** frameworksCommand is `mezzo frameworks`. */
export function frameworksCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(new Command('frameworks').description('list the frameworks the master knows'))
    .option('--json', 'print the operator GET_FRAMEWORKS result as JSON')
    .action(
      action(box, streams, (opts: ListFlags) =>
        withOperator(opts, 'mezzo-frameworks', async (op) => {
          const frameworks = await op.frameworks();
          streams.stdout.write(
            opts.json ? json({ frameworks }) : `${frameworksTable(frameworks, Date.now())}\n`,
          );
          return ExitCode.OK;
        }),
      ),
    );
}

/** tasksCommand is `mezzo tasks` (alias `mezzo ps`): active and recently finished tasks. */
export function tasksCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('tasks').alias('ps').description('list active and recently completed tasks'),
  )
    .option('--framework <id>', 'only the tasks of this framework')
    .option('--json', 'print the operator GET_TASKS result as JSON')
    .action(
      action(box, streams, (opts: ListFlags) =>
        withOperator(opts, 'mezzo-tasks', async (op) => {
          const tasks = await op.tasks(opts.framework);
          streams.stdout.write(opts.json ? json({ tasks }) : `${tasksTable(tasks, Date.now())}\n`);
          return ExitCode.OK;
        }),
      ),
    );
}
