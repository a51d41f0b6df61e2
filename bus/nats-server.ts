import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** NatsServerOptions configure a local nats-server that Mezzo spawns for itself. */
export interface NatsServerOptions {
  /** Where the config, the JetStream store and the log live. */
  dataDir: string;
  /** Client port; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Accepted by the server; components still refuse anything over their own limit. */
  maxPayloadBytes?: number;
  binary?: string;
}

/** LocalNatsServer is a running nats-server child process. */
export interface LocalNatsServer {
  url: string;
  pid: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** NatsServerMissingError says nats-server is not installed, and how to install it. */
export class NatsServerMissingError extends Error {
  override name = 'NatsServerMissingError';
  constructor(cause?: unknown) {
    super('nats-server was not found on PATH; install it (Debian: apt-get install -y nats-server)', {
      cause,
    });
  }
}

/**
 * startNatsServer spawns nats-server with JetStream on loopback and resolves once it accepts
 * clients, with the URL it listens on.
 */
export function startNatsServer(opts: NatsServerOptions): Promise<LocalNatsServer> {
  mkdirSync(opts.dataDir, { recursive: true });
  const host = opts.host ?? '127.0.0.1';
  const conf = join(opts.dataDir, 'nats.conf');
  writeFileSync(
    conf,
    [
      `listen: "${host}:${opts.port && opts.port > 0 ? opts.port : -1}"`,
      `max_payload: ${opts.maxPayloadBytes ?? 8 * 1024 * 1024}`,
      `jetstream { store_dir: "${join(opts.dataDir, 'jetstream')}" }`,
      '',
    ].join('\n'),
  );
  const child = spawn(opts.binary ?? 'nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let url: string | undefined;
    let log = '';
    const onExit = (code: number | null) =>
      reject(new Error(`nats-server exited (${code}) before it was ready:\n${log}`));
    child.once('error', (err) =>
      reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new NatsServerMissingError(err) : err),
    );
    child.once('exit', onExit);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (log.length < 20_000) log += chunk;
      const m = /Listening for client connections on ([\d.:[\]a-f]+):(\d+)/.exec(log);
      if (m && !url) url = `nats://${host}:${m[2]}`;
      if (url && /Server is ready/.test(log)) {
        child.off('exit', onExit);
        child.stderr?.removeAllListeners('data');
        child.stderr?.resume();
        const ready = url;
        resolve({
          url: ready,
          pid: child.pid as number,
          process: child,
          stop: () => stopChild(child),
        });
      }
    });
  });
}

/** stopChild sends SIGTERM, then SIGKILL after a grace period, and resolves when the child is gone. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
