import { Command, CommanderError } from 'commander';
import { MEZZO_VERSION } from '../protocol/index.js';
import type { ExitBox, Streams } from './action.js';
import {
  agentCommand,
  agentsCommand,
  appsCommands,
  credsCommand,
  frameworksCommand,
  killCommand,
  masterCommand,
  quotaCommand,
  rolesCommand,
  runCommand,
  simulateCommand,
  statusCommand,
  tasksCommand,
  topCommand,
  upCommand,
  weightsCommand,
} from './commands/index.js';

/** buildProgram assembles the `mezzo` command; the chosen subcommand leaves its exit code in `box`. */
export function buildProgram(box: ExitBox, streams: Streams): Command {
  const program = new Command('mezzo')
    .description('Mezzo, a cluster resource manager in the tradition of Apache Mesos')
    .version(MEZZO_VERSION)
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (s) => streams.stdout.write(s),
      writeErr: (s) => streams.stderr.write(s),
    })
    .exitOverride();
  for (const make of [
    upCommand,
    masterCommand,
    agentCommand,
    runCommand,
    agentsCommand,
    frameworksCommand,
    tasksCommand,
    topCommand,
    killCommand,
    statusCommand,
    rolesCommand,
    weightsCommand,
    quotaCommand,
    credsCommand,
    simulateCommand,
  ]) {
    const cmd = make(box, streams);
    cmd
      .configureOutput({ writeOut: (s) => streams.stdout.write(s), writeErr: (s) => streams.stderr.write(s) })
      .exitOverride();
    program.addCommand(cmd);
  }
  for (const cmd of appsCommands(box, streams)) {
    cmd
      .configureOutput({ writeOut: (s) => streams.stdout.write(s), writeErr: (s) => streams.stderr.write(s) })
      .exitOverride();
    program.addCommand(cmd);
  }
  return program;
}

/** main runs the CLI on argv and returns the exit code. */
export async function main(
  argv: string[],
  streams: Streams = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const box: ExitBox = { code: 0 };
  const program = buildProgram(box, streams);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return box.code;
}
