import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { HealthCheck } from '../../protocol/index.js';
import { programOf } from './task-process.js';

/** ProbeOutcome is whether one health probe passed, and why not when it did not. */
export interface ProbeOutcome {
  ok: boolean;
  message?: string;
}

/** ProbeContext is where a COMMAND probe runs: the task's sandbox and environment. */
export interface ProbeContext {
  sandbox: string;
  /** The task's environment; a COMMAND check's own env is laid over it. */
  env: Record<string, string>;
  /** Aborted when the executor ends: a COMMAND probe still running is SIGKILLed with its group. */
  signal?: AbortSignal;
}

/** PROBE_HOST is the only address probes talk to: the task runs on this machine. */
const PROBE_HOST = '127.0.0.1';

/**
 * runProbe probes a task once, as its health check says, within `timeoutSeconds`. It never
 * rejects: any error is a failed probe.
 */
export function runProbe(check: HealthCheck, ctx: ProbeContext): Promise<ProbeOutcome> {
  const timeoutMs = check.timeoutSeconds * 1000;
  if (ctx.signal?.aborted) return Promise.resolve({ ok: false, message: 'the executor is ending' });
  if (check.type === 'COMMAND' && check.command) return commandProbe(check.command, ctx, timeoutMs);
  if (check.type === 'HTTP' && check.http) return httpProbe(check.http.port, check.http.path, timeoutMs);
  if (check.type === 'TCP' && check.tcp) return tcpProbe(check.tcp.port, timeoutMs);
  return Promise.resolve({ ok: false, message: `the ${check.type} health check has no target` });
}

/**
 * commandProbe runs the check's command in the task's sandbox, in a process group of its own; it
 * passes when the command exits 0. At the timeout, or once it exits, its whole group is SIGKILLed.
 */
export function commandProbe(
  command: NonNullable<HealthCheck['command']>,
  ctx: ProbeContext,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const [program, args] = programOf(command);
    let settled = false;
    const child = spawn(program, args, {
      cwd: ctx.sandbox,
      env: { ...ctx.env, ...command.env },
      detached: true,
      stdio: 'ignore',
    });
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    };
    const settle = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
      killGroup();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => settle({ ok: false, message: `the health check command timed out after ${timeoutMs / 1000}s` }),
      timeoutMs,
    );
    const onAbort = () => settle({ ok: false, message: 'the executor is ending' });
    if (ctx.signal?.aborted) onAbort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) =>
      settle({ ok: false, message: `could not run the health check command: ${err.message}` }),
    );
    child.on('exit', (code, signal) =>
      settle(
        code === 0
          ? { ok: true }
          : {
              ok: false,
              message: `the health check command ${signal ? `was killed by ${signal}` : `exited with status ${code}`}`,
            },
      ),
    );
  });
}

/** httpProbe GETs `http://127.0.0.1:<port><path>`; it passes on a 2xx or 3xx status within the timeout. */
export function httpProbe(port: number, path: string, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    const req = request({ host: PROBE_HOST, port, path, method: 'GET', agent: false }, (res) => {
      const code = res.statusCode ?? 0;
      res.resume();
      settle(
        code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `GET ${path} answered ${code}` },
      );
    });
    const timer = setTimeout(
      () => settle({ ok: false, message: `GET ${path} did not answer within ${timeoutMs / 1000}s` }),
      timeoutMs,
    );
    req.on('error', (err) => settle({ ok: false, message: `GET ${path} failed: ${err.message}` }));
    req.end();
  });
}

/** tcpProbe passes when 127.0.0.1:<port> accepts a connection within the timeout. */
export function tcpProbe(port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = connect({ host: PROBE_HOST, port });
    const settle = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => settle({ ok: false, message: `port ${port} did not accept within ${timeoutMs / 1000}s` }),
      timeoutMs,
    );
    socket.on('connect', () => settle({ ok: true }));
    socket.on('error', (err) => settle({ ok: false, message: `port ${port}: ${err.message}` }));
  });
}
