/** ExitCode is what the CLI exits with besides a task's own code. */
export const ExitCode = {
  OK: 0,
  /** Something went wrong: no cluster, a refused call, a task that ended badly without a code. */
  FAILURE: 1,
  /** The request can never run: bad arguments, or no agent could ever fit it. */
  USAGE: 2,
  /** Stopped by Ctrl-C (128 + SIGINT). */
  INTERRUPTED: 130,
} as const;

/** CliError is a failure to report to the user as one line, and the code to exit with. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.FAILURE,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
