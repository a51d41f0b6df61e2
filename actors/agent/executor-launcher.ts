import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecutorEnv, RECOVERY_TIMEOUT_ENV, TASK_FILE, type TaskFileInput } from '../executor/index.js';
import type { ExecutorLaunch, Signal } from './effects.js';
import { processStartTime } from './process-liveness.js';

/** LaunchEvent is what the launcher reports about an executor process. */
export type LaunchEvent =
  | { type: 'EXECUTOR_SPAWNED'; key: string; pid: number; startTime?: string }
  | { type: 'EXECUTOR_LAUNCH_FAILED'; key: string; message: string }
  | { type: 'EXECUTOR_EXITED'; key: string; code: number | null; signal: string | null; message?: string };

/**
 * defaultExecutorMain is the built command executor, `dist/actors/executor/main.js`, found next
 * to this module when it runs from dist/, or under dist/ when it runs from the TypeScript source.
 */
export function defaultExecutorMain(): string {
  const sibling = fileURLToPath(new URL('../executor/main.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  return fileURLToPath(new URL('../../dist/actors/executor/main.js', import.meta.url));
}

/** signalProcessGroup signals a whole process group; a group that is already gone is fine. */
export function signalProcessGroup(pgid: number, signal: Signal): void {
  // Never -1 (every process), -0 (our own group) or our own pid.
  if (!Number.isInteger(pgid) || pgid <= 1 || pgid === process.pid) return;
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** parentPid reads a process's parent from /proc; undefined when it cannot be read. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** LauncherOptions say how executors are started. */
export interface LauncherOptions {
  command: string[];
  /** Variables every executor gets besides its own ids (NATS URL, prefix, agent id). */
  env: Record<string, string>;
  prefix: string;
  /**
   * Given (ms) to the executors of checkpointing frameworks as RECOVERY_TIMEOUT_ENV: how long they
   * wait for a restarting agent to acknowledge their terminal update.
   */
  recoveryTimeoutMs?: number;
  report(event: LaunchEvent): void;
}

/**
 * ExecutorLauncher starts executor processes in their sandboxes: the sandbox and its task.json,
 * then the executor in its own process group (so a terminal's Ctrl-C does not reach it) with
 * stdout and stderr in `<sandbox>/executor.log`. It reports spawn, launch failure and exit.
 */
export class ExecutorLauncher {
  private readonly children = new Map<string, ChildProcess>();

  constructor(private readonly opts: LauncherOptions) {}

  launch(l: ExecutorLaunch): void {
    let child: ChildProcess;
    try {
      mkdirSync(l.sandbox, { recursive: true });
      const file: TaskFileInput = { ...l.file, prefix: this.opts.prefix };
      // Owner-only: it holds the task's secrets, which only the task may read.
      writeFileSync(join(l.sandbox, TASK_FILE), `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
      const log = openSync(join(l.sandbox, 'executor.log'), 'a');
      try {
        const [cmd, ...args] = this.opts.command;
        child = spawn(cmd, args, {
          cwd: l.sandbox,
          detached: true,
          stdio: ['ignore', log, log],
          env: {
            ...process.env,
            ...this.opts.env,
            [ExecutorEnv.EXECUTOR_ID]: l.executorId,
            [ExecutorEnv.SANDBOX]: l.sandbox,
            ...(l.file.framework?.checkpoint && this.opts.recoveryTimeoutMs !== undefined
              ? { [RECOVERY_TIMEOUT_ENV]: String(this.opts.recoveryTimeoutMs) }
              : {}),
          },
        });
      } finally {
        closeSync(log);
      }
    } catch (err) {
      this.opts.report({ type: 'EXECUTOR_LAUNCH_FAILED', key: l.key, message: (err as Error).message });
      return;
    }
    let settled = false;
    child.on('error', (err) => {
      if (settled || child.pid !== undefined) return;
      settled = true;
      this.opts.report({ type: 'EXECUTOR_LAUNCH_FAILED', key: l.key, message: err.message });
    });
    child.once('exit', (code, signal) => {
      this.children.delete(l.key);
      if (settled) return;
      settled = true;
      this.opts.report({ type: 'EXECUTOR_EXITED', key: l.key, code, signal });
    });
    if (child.pid !== undefined) {
      this.children.set(l.key, child);
      this.opts.report({
        type: 'EXECUTOR_SPAWNED',
        key: l.key,
        pid: child.pid,
        startTime: processStartTime(child.pid),
      });
    }
  }

  /** pidOf is the pid of a task's executor while it runs. */
  pidOf(key: string): number | undefined {
    return this.children.get(key)?.pid;
  }

  /** running counts executors not yet exited. */
  running(): number {
    return this.children.size;
  }

  /** killAll SIGKILLs the process group of every executor still running (the last resort of stop). */
  killAll(): void {
    for (const child of this.children.values())
      if (child.pid !== undefined) signalProcessGroup(child.pid, 'SIGKILL');
  }
}
