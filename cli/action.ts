import { CliError, ExitCode } from './errors.js';

/** Streams are where a command writes; the process's own unless a test says otherwise. */
export interface Streams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** ExitBox receives the exit code of the command that ran. */
export interface ExitBox {
  code: number;
}

/**
 * action wraps a command body: its return value is the exit code; a CliError is printed as one
 * line (`mezzo: ...`) with its code; anything else is printed with its stack and exits 1.
 */
export function action<A extends unknown[]>(
  box: ExitBox,
  streams: Streams,
  body: (...args: A) => Promise<number>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      box.code = await body(...args);
    } catch (err) {
      if (err instanceof CliError) {
        streams.stderr.write(`mezzo: ${err.message}\n`);
        box.code = err.exitCode;
      } else {
        streams.stderr.write(`mezzo: ${(err as Error)?.stack ?? String(err)}\n`);
        box.code = ExitCode.FAILURE;
      }
    }
  };
}
