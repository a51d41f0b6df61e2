import { spawn } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { CommandInfo, TaskOutput } from '../../protocol/index.js';
import { createOutputPump } from './output-pump.js';
import { lookupUser, selfUser, type UserSwitch, userSwitch } from './task-user.js';

/** How long after the task exits its output may take to close before the executor stops waiting. */
const OUTPUT_CLOSE_GRACE_MS = 2000;

/** TaskProcessEvents are what a task's process tells the executor. */
export interface TaskProcessEvents {
  spawned(pid: number): void;
  /** The command could not start at all. */
  failed(program: string, error: { code?: string; message: string }): void;
  /** The task exited and its output is flushed and its end published. */
  exited(exitCode: number | null, signal: string | null): void;
}

/** TaskProcessOptions say what to run and where. */
export interface TaskProcessOptions {
  command: CommandInfo;
  sandbox: string;
  env: Record<string, string>;
  publishOutput(chunk: TaskOutput): void;
  /**
   * Wraps the program in the container's launch plan (cgroup placement, namespaces) and adds
   * environment; absent, the program runs as it is.
   */
  wrap?(program: string, args: string[]): { program: string; args: string[]; env: Record<string, string> };
  /** Decides how to become the command's user (default: the passwd database, this process's user). */
  switchUser?: (user: string | undefined) => UserSwitch;
}

/** TaskProcess is a running task. */
export interface TaskProcess {
  /** Signals the task's whole process group. */
  signal(signal: 'SIGTERM' | 'SIGKILL'): void;
}

/** programOf is what a command runs: `/bin/sh -c value`, or its argv. */
export function programOf(command: CommandInfo): [string, string[]] {
  if (command.shell) return ['/bin/sh', ['-c', command.value ?? '']];
  const [file, ...args] = command.argv ?? [];
  return [file, args];
}

/**
 * missingProgram tells why an argv program cannot be run (ENOENT, EACCES), or undefined when it
 * can. A wrapped program is exec'd by the wrapper, so spawn alone would not see it missing.
 */
export function missingProgram(
  program: string,
  path: string | undefined,
): { code: string; message: string } | undefined {
  const runnable = (p: string) => {
    try {
      if (!statSync(p).isFile()) return 'EACCES';
      accessSync(p, constants.X_OK);
      return undefined;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'EACCES' : 'ENOENT';
    }
  };
  let code: string | undefined;
  if (program.includes('/')) code = runnable(program);
  else {
    code = 'ENOENT';
    for (const dir of (path ?? '').split(delimiter).filter(Boolean)) {
      const c = runnable(join(dir, program));
      if (c === undefined) return undefined;
      if (c === 'EACCES') code = c;
    }
  }
  return code ? { code, message: `spawn ${program} ${code}` } : undefined;
}

function signalGroup(pid: number | undefined, signal: 'SIGTERM' | 'SIGKILL'): void {
  if (pid === undefined || pid <= 1) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * startTaskProcess spawns the task in its own process group, in the sandbox, with its output
 * going to `<sandbox>/stdout` and `<sandbox>/stderr` and to the bus. When the task exits, what
 * is left of its process group is SIGKILLed (nothing it started outlives it, as when Mesos
 * destroys a container), and `exited` comes once both output streams have ended.
 */
export function startTaskProcess(opts: TaskProcessOptions, events: TaskProcessEvents): TaskProcess {
  const [program, args] = programOf(opts.command);
  const stdout = createOutputPump('stdout', join(opts.sandbox, 'stdout'), opts.publishOutput);
  const stderr = createOutputPump('stderr', join(opts.sandbox, 'stderr'), opts.publishOutput);
  let started = false;
  let finished = false;
  let pid: number | undefined;

  // The task's user, entered last (setpriv right before the program), so wrappers still run as root.
  const as: UserSwitch = !opts.command.user
    ? { kind: 'same' }
    : (opts.switchUser ?? ((u) => userSwitch(u, selfUser(), lookupUser)))(opts.command.user);
  if (as.kind === 'refused') {
    finished = true;
    void Promise.all([stdout.end(), stderr.end()]).then(() =>
      events.failed(program, { code: as.code, message: as.message }),
    );
    return { signal() {} };
  }
  const userEnv: Record<string, string> = {};
  let [runProgram, runArgs] = [program, args];
  if (as.kind === 'switch') {
    [runProgram, runArgs] = [as.wrapper[0], [...as.wrapper.slice(1), program, ...args]];
    Object.assign(userEnv, { USER: as.user.name, LOGNAME: as.user.name });
    // The task writes its own files in its sandbox (and its private tmp).
    for (const dir of [opts.sandbox, join(opts.sandbox, 'tmp')])
      if (existsSync(dir)) chownSync(dir, as.user.uid, as.user.gid);
  }
  const missing = opts.wrap ? missingProgram(program, opts.env.PATH) : undefined;
  const plan =
    opts.wrap && !missing ? opts.wrap(runProgram, runArgs) : { program: runProgram, args: runArgs, env: {} };
  const child = spawn(missing ? program : plan.program, missing ? args : plan.args, {
    cwd: opts.sandbox,
    env: { ...opts.env, ...userEnv, ...plan.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => stdout.write(d));
  child.stderr?.on('data', (d: Buffer) => stderr.write(d));

  const finish = async (exitCode: number | null, signal: string | null) => {
    if (finished) return;
    finished = true;
    await Promise.all([stdout.end(), stderr.end()]);
    events.exited(exitCode, signal);
  };

  child.on('spawn', () => {
    started = true;
    pid = child.pid;
    events.spawned(child.pid as number);
  });
  child.on('error', (err: NodeJS.ErrnoException) => {
    if (started || finished) return;
    finished = true;
    void Promise.all([stdout.end(), stderr.end()]).then(() =>
      events.failed(program, { code: err.code, message: err.message }),
    );
  });
  child.on('exit', (exitCode, signal) => {
    if (!started) return;
    signalGroup(pid, 'SIGKILL');
    // Output closes once every holder of the pipes is gone; don't wait forever for escapees.
    const timer = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      void finish(exitCode, signal);
    }, OUTPUT_CLOSE_GRACE_MS);
    child.once('close', () => {
      clearTimeout(timer);
      void finish(exitCode, signal);
    });
  });

  return {
    signal(signal) {
      if (!finished) signalGroup(pid, signal);
    },
  };
}
