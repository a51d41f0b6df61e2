import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Integration tests spawn the built executor and CLI, so build once before any test runs. tsc
 * still emits on type errors; a type error fails `npm run build` (which `npm test` runs first),
 * so here it only warns, letting a focused run go on while another file is being edited.
 */
export default function setup(): void {
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
      stdio: 'inherit',
    });
  } catch (err) {
    if (!existsSync('dist/actors/executor/main.js')) throw err;
    process.stderr.write('global-setup: tsc reported errors; running the tests against what it emitted\n');
  }
}
