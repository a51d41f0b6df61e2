import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stopChild } from '../../bus/index.js';

/** MasterProcess is a `mezzo master` running in a process of its own, so its CPU and RSS can be read. */
export interface MasterProcess {
  pid: number;
  child: ChildProcess;
  /** What it wrote on stderr (its logs), the last 64 KiB. */
  stderr(): string;
  /** When the process was spawned (epoch ms): `--trace-gc` times count from about then. */
  spawnedAt: number;
  stop(): Promise<void>;
}

/** MasterProcessOptions say where the master finds NATS, and how to run node. */
export interface MasterProcessOptions {
  natsUrl: string;
  prefix: string;
  /** Extra node flags, e.g. `--cpu-prof --cpu-prof-dir=prof`. */
  nodeFlags?: string[];
  /** MEZZO_LOG_LEVEL of the master (default warn: logging every call would be the benchmark). */
  logLevel?: string;
  /** The built CLI (default dist/cli/main.js under the working directory). */
  cli?: string;
  readyTimeoutMs?: number;
  /** Keep the master's stdout (e.g. what `--trace-gc` writes) in this file instead of dropping it. */
  stdoutFile?: string;
}

/**
 * MASTER_YOUNG_GENERATION is the node flag the master processes our tooling starts run with: a
 * 64 MiB semi-space instead of V8's default (sized from the heap limit, at most 16 MiB in Node
 * 20). The master's hot paths (a REGISTER with its tasks, an ACCEPT, a status update) make many
 * short-lived objects (msgpack and zod build fresh ones for every message); with the default young
 * generation scavenges come so often that live-but-short-lived objects get promoted and old-space
 * GC follows. Measured on the failover bench (10,000 agents, 100,000 tasks re-registering): the new
 * leader's GC time 0.75 s -> 0.50 s. Every bench that starts a master (churn, launch, state,
 * failover) gets it; pass another --max-semi-space-size to override.
 */
export const MASTER_YOUNG_GENERATION = '--max-semi-space-size=64';

/** masterNodeFlags adds MASTER_YOUNG_GENERATION to a master's node flags unless they set a semi-space size. */
export function masterNodeFlags(flags: readonly string[] = []): string[] {
  return flags.some((f) => f.startsWith('--max-semi-space-size'))
    ? [...flags]
    : [MASTER_YOUNG_GENERATION, ...flags];
}

/** startMasterProcess runs `node dist/cli/main.js master` and resolves once it says it is ready. */
export function startMasterProcess(opts: MasterProcessOptions): Promise<MasterProcess> {
  const data = mkdtempSync(join(tmpdir(), 'mezzo-bench-'));
  const cli = resolve(opts.cli ?? 'dist/cli/main.js');
  const spawnedAt = Date.now();
  const child = spawn(
    process.execPath,
    [
      ...masterNodeFlags(opts.nodeFlags),
      cli,
      'master',
      '--nats',
      opts.natsUrl,
      '--prefix',
      opts.prefix,
      '--data',
      data,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MEZZO_LOG_LEVEL: opts.logLevel ?? 'warn' },
    },
  );
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    err = (err + s).slice(-65_536);
  });
  return new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`the master did not get ready:\n${err}`));
    }, opts.readyTimeoutMs ?? 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the master exited (${code}) before it was ready:\n${err}`));
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (s: string) => {
      out += s;
      if (/ready/.test(out)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        if (opts.stdoutFile) {
          const file = createWriteStream(opts.stdoutFile);
          file.write(out);
          child.stdout?.removeAllListeners('data');
          child.stdout?.pipe(file);
        } else child.stdout?.resume();
        ok({
          pid: child.pid as number,
          child,
          stderr: () => err,
          spawnedAt,
          // SIGTERM lets the master stop cleanly, which also writes a --cpu-prof profile.
          stop: () => stopChild(child, 15_000),
        });
      }
    });
  });
}
