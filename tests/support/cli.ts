import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** MEZZO is the built CLI that end-to-end tests run. */
export const MEZZO = resolve('dist/cli/main.js');

/** Ran is how one CLI command ended. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * mezzo runs one CLI command against a cluster's data dir (MEZZO_DATA; no MEZZO_NATS_URL from the
 * environment), collecting its output; it is SIGKILLed and the test fails after `timeoutMs`.
 */
export function mezzo(
  data: string,
  args: string[],
  opts: { onSpawn?: (c: ChildProcess) => void; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [MEZZO, ...args], {
      env: { ...process.env, MEZZO_DATA: data, MEZZO_NATS_URL: '', MEZZO_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`mezzo ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
    opts.onSpawn?.(child);
  });
}
