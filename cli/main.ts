import { main } from './program.js';

/** exitWhenFlushed exits once what was written to stdout and stderr has gone out. */
function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

// A reader that went away (mezzo tasks | head -1) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv).then(exitWhenFlushed, (err) => {
  process.stderr.write(`mezzo: ${(err as Error)?.stack ?? String(err)}\n`);
  exitWhenFlushed(1);
});
