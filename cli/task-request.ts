import { randomBytes } from 'node:crypto';
import {
  CommandInfo,
  type CommandInfoInput,
  type ContainerInfo,
  DockerInfo,
  ID_PATTERN,
  resources as R,
  type Resources,
  type Rlimit,
  RoleName,
  TaskInfo,
} from '../protocol/index.js';
import { CliError, ExitCode } from './errors.js';

/** RunFlags are `mezzo run`'s options, as commander parses them. */
export interface RunFlags {
  cpus: number;
  mem: number;
  disk: number;
  role: string;
  name?: string;
  env?: string[];
  user?: string;
  /** true: join the arguments into one shell command line; false: run them as argv; unset: decide. */
  shell?: boolean;
  /** A Docker image on the agent to run the command in. */
  image?: string;
  /** `--rlimit TYPE=SOFT[:HARD]` values (repeatable). */
  rlimit?: string[];
}

/** TaskRequest is one task `mezzo run` wants to launch. */
export interface TaskRequest {
  taskId: string;
  name: string;
  role: string;
  resources: Resources;
  command: CommandInfoInput;
  container?: ContainerInfo;
  rlimits?: Rlimit[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;

/** parseEnv reads repeated `--env K=V` flags; a later K wins. */
export function parseEnv(pairs: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    const name = i < 0 ? pair : pair.slice(0, i);
    if (i < 0) throw new CliError(`--env ${pair}: expected NAME=VALUE`, ExitCode.USAGE);
    if (!ENV_NAME.test(name))
      throw new CliError(`--env ${pair}: "${name}" is not a valid variable name`, ExitCode.USAGE);
    out[name] = pair.slice(i + 1);
  }
  return out;
}

const LIMIT = (s: string) => (s === 'unlimited' ? undefined : Number(s));

/**
 * parseRlimits reads `--rlimit nofile=64:128` (soft:hard), `--rlimit core=0` (soft = hard) and
 * `--rlimit stack=unlimited`; the type is any Mesos rlimit name, in any case.
 */
export function parseRlimits(values: readonly string[] = []): Rlimit[] | undefined {
  if (values.length === 0) return undefined;
  const out = values.map((v) => {
    const m = /^([A-Za-z_]+)=([0-9]+|unlimited)(?::([0-9]+|unlimited))?$/.exec(v);
    if (!m)
      throw new CliError(`--rlimit ${v}: expected TYPE=SOFT[:HARD], e.g. nofile=1024:4096`, ExitCode.USAGE);
    return { type: m[1].toUpperCase(), soft: LIMIT(m[2]), hard: LIMIT(m[3] ?? m[2]) };
  });
  const parsed = TaskInfo.shape.rlimits.safeParse(out);
  if (!parsed.success)
    throw new CliError(`--rlimit: ${parsed.error.issues.map((i) => i.message).join('; ')}`, ExitCode.USAGE);
  return parsed.data;
}

/**
 * commandInfoFor maps `mezzo run`'s arguments to what the task runs. One argument is a shell
 * command line (`mezzo run -- 'echo $HOME | wc -c'`); several are an argv run without a shell
 * (`mezzo run -- echo hello`, `mezzo run -- sh -c 'echo out; exit 7'`). `shell` forces either
 * way: `--shell` joins the arguments with spaces into one command line, `--no-shell` runs even a
 * single argument as a program.
 */
export function commandInfoFor(
  args: readonly string[],
  opts: { shell?: boolean; env?: Record<string, string>; user?: string } = {},
): CommandInfoInput {
  if (args.length === 0 || args.every((a) => a === '')) {
    throw new CliError(
      'nothing to run: give a command after --, e.g. mezzo run -- echo hello',
      ExitCode.USAGE,
    );
  }
  const useShell = opts.shell ?? args.length === 1;
  const base = { env: opts.env ?? {}, ...(opts.user ? { user: opts.user } : {}) };
  const command: CommandInfoInput = useShell
    ? { shell: true, value: args.join(' '), ...base }
    : { shell: false, argv: [...args], ...base };
  const check = CommandInfo.safeParse(command);
  if (!check.success)
    throw new CliError(`invalid command: ${check.error.issues[0]?.message}`, ExitCode.USAGE);
  return command;
}

/** requestedResources turns --cpus/--mem/--disk into a resource list (zeros left out). */
export function requestedResources(flags: Pick<RunFlags, 'cpus' | 'mem' | 'disk'>): Resources {
  for (const [name, value] of [
    ['cpus', flags.cpus],
    ['mem', flags.mem],
    ['disk', flags.disk],
  ] as const) {
    if (!Number.isFinite(value) || value < 0)
      throw new CliError(`--${name} must be a non-negative number, got ${value}`, ExitCode.USAGE);
  }
  if (flags.cpus <= 0 && flags.mem <= 0)
    throw new CliError('a task needs some --cpus or --mem', ExitCode.USAGE);
  return R.normalize([
    { name: 'cpus', scalar: flags.cpus },
    { name: 'mem', scalar: flags.mem },
    { name: 'disk', scalar: flags.disk },
  ]);
}

/** taskIdFor makes a task id from a name and a random suffix: `mezzo-run-3f9a1c`. */
export function taskIdFor(name: string, suffix: string = randomBytes(3).toString('hex')): string {
  const slug =
    name
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '')
      .replace(/-+$/, '')
      .slice(0, 100) || 'task';
  const id = `${slug}-${suffix}`;
  if (!ID_PATTERN.test(id)) throw new CliError(`cannot make a task id from name "${name}"`, ExitCode.USAGE);
  return id;
}

/** containerFor is the Docker container of `--image NAME`, or none without it. */
export function containerFor(image: string | undefined): ContainerInfo | undefined {
  if (image === undefined) return undefined;
  const check = DockerInfo.safeParse({ image });
  if (!check.success)
    throw new CliError(`--image ${image}: ${check.error.issues[0]?.message}`, ExitCode.USAGE);
  return { type: 'DOCKER', docker: check.data };
}

/** buildTaskRequest is the whole mapping from `mezzo run`'s flags and arguments to one task. */
export function buildTaskRequest(args: readonly string[], flags: RunFlags, suffix?: string): TaskRequest {
  if (!RoleName.safeParse(flags.role).success)
    throw new CliError(`--role ${flags.role} is not a valid role`, ExitCode.USAGE);
  const name = flags.name ?? 'mezzo-run';
  return {
    taskId: taskIdFor(name, suffix),
    name,
    role: flags.role,
    resources: requestedResources(flags),
    command: commandInfoFor(args, { shell: flags.shell, env: parseEnv(flags.env), user: flags.user }),
    ...(flags.image !== undefined ? { container: containerFor(flags.image) } : {}),
    ...(flags.rlimit?.length ? { rlimits: parseRlimits(flags.rlimit) } : {}),
  };
}
