import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, InvalidArgumentError } from 'commander';
import { type Bus, RemoteError, RequestTimeoutError } from '../../bus/index.js';
import type { CronJobView, JobView, LogsResult, ServiceView } from '../../frameworks/apps/api.js';
import { startBuiltIns } from '../../frameworks/apps/built-ins.js';
import { AppsClient } from '../../frameworks/apps/client.js';
import { type AppKind, KIND_PLURAL } from '../../frameworks/apps/spec.js';
import { parseSpecs, SpecError } from '../../frameworks/apps/spec-file.js';
import { isTerminal, subjects, TaskOutput, type TaskState } from '../../protocol/index.js';
import { action, type ExitBox, type Streams } from '../action.js';
import { type ClusterConnection, connectCluster, loadConfig } from '../cluster-connection.js';
import type { ConfigFlags } from '../config.js';
import { CliError, ExitCode } from '../errors.js';
import { ago, table } from '../format.js';
import { cliLogger } from '../logging.js';
import { clusterFlags, nonNegativeNumber, positiveInteger, withClusterOptions } from '../options.js';
import { onShutdownSignals } from '../shutdown.js';

/**
 * The app commands (`apply`, `get`, `describe`, `scale`, `delete`, `restart`, `logs`) talk to the
 * built-in frameworks through their request subjects (`<prefix>.apps.services|jobs|cronjobs`),
 * which `mezzo up` serves; the frameworks validate, store in their KV buckets and answer.
 */

const KIND_WORDS: Record<string, AppKind> = {
  service: 'Service',
  services: 'Service',
  svc: 'Service',
  job: 'Job',
  jobs: 'Job',
  cronjob: 'CronJob',
  cronjobs: 'CronJob',
  cj: 'CronJob',
};

/** kindArg parses `service|job|cronjob` (and plurals). */
export function kindArg(value: string): AppKind {
  const k = KIND_WORDS[value.toLowerCase()];
  if (!k) throw new InvalidArgumentError('expected services, jobs or cronjobs');
  return k;
}

function countArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10_000)
    throw new InvalidArgumentError('expected an integer from 0 to 10000');
  return n;
}

/** withApps connects to the cluster and runs `body` with an apps client; errors become one line. */
async function withApps<T>(
  flags: ConfigFlags,
  name: string,
  body: (apps: AppsClient, bus: Bus, prefix: string) => Promise<T>,
): Promise<T> {
  const log = cliLogger(name, 'warn');
  const conn = await connectCluster(clusterFlags(flags), name, log);
  try {
    return await body(new AppsClient(conn.bus, conn.config.prefix), conn.bus, conn.config.prefix);
  } catch (err) {
    if (err instanceof RequestTimeoutError)
      throw new CliError(
        `no framework answered on ${err.message.replace(/^no answer on /, '')} (${conn.describe()}); \`mezzo up\` starts the built-in frameworks`,
        ExitCode.FAILURE,
        { cause: err },
      );
    if (err instanceof RemoteError)
      throw new CliError(err.message, err.code === 'BAD_REQUEST' ? ExitCode.USAGE : ExitCode.FAILURE, {
        cause: err,
      });
    throw err;
  } finally {
    await conn.close().catch(() => {});
  }
}

// --- rendering (pure) ------------------------------------------------------------------------

const when = (now: number, t?: number) => (t === undefined ? '-' : `${ago(now, t)} ago`);

/** servicesTable lists services: instances healthy of desired, version, rollout. */
export function servicesTable(items: readonly ServiceView[], now: number): string {
  if (items.length === 0) return 'no services';
  return table(
    ['NAME', 'HEALTHY', 'RUNNING', 'VERSION', 'ROLLOUT', 'PORTS', 'AGE'],
    items.map((s) => [
      s.name,
      `${s.healthy}/${s.desired}`,
      String(s.running),
      String(s.version),
      s.deployment ? `${s.deployment.fromVersion} -> ${s.deployment.toVersion}` : '-',
      s.instances.map((i) => `${i.hostname}:${i.ports.join(',') || '-'}`).join(' ') || '-',
      s.events[0] ? ago(now, s.events[0].at) : '-',
    ]),
  );
}

/** jobsTable lists jobs: phase, completions, failures, age. */
export function jobsTable(items: readonly JobView[], now: number): string {
  if (items.length === 0) return 'no jobs';
  return table(
    ['NAME', 'PHASE', 'COMPLETIONS', 'ACTIVE', 'FAILED', 'AGE'],
    items.map((j) => [
      j.name,
      j.phase,
      `${j.succeeded}/${j.spec.completions}`,
      String(j.active),
      String(j.failed),
      ago(now, j.createdAt),
    ]),
  );
}

/** cronJobsTable lists cron jobs: schedule, policy, last and next run. */
export function cronJobsTable(items: readonly CronJobView[], now: number): string {
  if (items.length === 0) return 'no cronjobs';
  return table(
    ['NAME', 'SCHEDULE', 'TIMEZONE', 'POLICY', 'SUSPEND', 'ACTIVE', 'LAST RUN', 'NEXT RUN'],
    items.map((c) => [
      c.name,
      c.spec.schedule,
      c.spec.timeZone,
      c.spec.concurrencyPolicy,
      String(c.spec.suspend),
      String(c.active.length),
      when(now, c.lastScheduleTime),
      c.nextScheduleTime === undefined ? '-' : new Date(c.nextScheduleTime).toISOString(),
    ]),
  );
}

function eventLines(events: readonly { at: number; message: string }[]): string[] {
  return events.length ? events.map((e) => `  ${new Date(e.at).toISOString()}  ${e.message}`) : ['  (none)'];
}

/** describeService writes a service's spec summary, instances (host, ports, health) and events. */
export function describeService(s: ServiceView, now: number): string {
  const spec = s.spec;
  const lines = [
    `Name:        ${s.name}`,
    `Framework:   ${s.frameworkId}`,
    `Version:     ${s.version}`,
    `Command:     ${typeof spec.command === 'string' ? spec.command : JSON.stringify(spec.command)}${spec.image ? ` (image ${spec.image})` : ''}`,
    `Resources:   cpus ${spec.resources.cpus} · mem ${spec.resources.mem}${spec.resources.disk ? ` · disk ${spec.resources.disk}` : ''}`,
    `Instances:   ${s.healthy} healthy, ${s.running} running, ${s.desired} desired`,
    `Ports:       ${Array.isArray(spec.ports) ? spec.ports.join(', ') || '-' : spec.ports}`,
    `Constraints: ${spec.constraints.join('; ') || '-'}`,
    `Health:      ${spec.healthCheck ? `${spec.healthCheck.type} ${spec.healthCheck.type === 'COMMAND' ? spec.healthCheck.command : `port ${spec.healthCheck.port}${spec.healthCheck.type === 'HTTP' ? ` ${spec.healthCheck.path}` : ''}`}` : 'none (RUNNING counts as healthy)'}`,
    `Upgrade:     minHealthCapacity ${spec.upgrade.minHealthCapacity} · maxOverCapacity ${spec.upgrade.maxOverCapacity} · rollback ${spec.upgrade.rollbackOnFailure}`,
    `Rollout:     ${s.deployment ? `version ${s.deployment.fromVersion} -> ${s.deployment.toVersion}, started ${ago(now, s.deployment.startedAt)} ago, ${s.deployment.failures} failure(s)` : 'none'}`,
    '',
    'Instances:',
    s.instances.length
      ? table(
          ['TASK', 'VERSION', 'STATE', 'HEALTHY', 'HOST', 'PORTS', 'AGE'],
          s.instances.map((i) => [
            i.taskId,
            String(i.version),
            i.state,
            i.healthy ? 'yes' : 'no',
            i.hostname,
            i.ports.join(',') || '-',
            ago(now, i.startedAt),
          ]),
        )
      : '  (none)',
    '',
    'Events:',
    ...eventLines(s.events),
  ];
  return lines.join('\n');
}

/** describeJob writes a job's progress, its tasks and the last failure. */
export function describeJob(j: JobView, now: number): string {
  return [
    `Name:        ${j.name}`,
    `Framework:   ${j.frameworkId}`,
    `Phase:       ${j.phase}${j.reason ? ` (${j.reason})` : ''}`,
    `Command:     ${typeof j.spec.command === 'string' ? j.spec.command : JSON.stringify(j.spec.command)}`,
    `Completions: ${j.succeeded}/${j.spec.completions} succeeded · parallelism ${j.spec.parallelism} · retries ${j.spec.retries}`,
    `Failures:    ${j.failed}`,
    `Last failure: ${j.lastFailure ?? '-'}`,
    `Created:     ${ago(now, j.createdAt)} ago${j.finishedAt !== undefined ? ` · finished ${ago(now, j.finishedAt)} ago` : ''}`,
    '',
    'Tasks:',
    j.tasks.length
      ? table(
          ['TASK', 'COMPLETION', 'ATTEMPT', 'STATE'],
          j.tasks.map((t) => [t.taskId, String(t.index), String(t.attempt), t.state]),
        )
      : '  (none)',
    '',
    'Events:',
    ...eventLines(j.events),
  ].join('\n');
}

/** describeCronJob writes a cron job's schedule, runs and events. */
export function describeCronJob(c: CronJobView, now: number): string {
  return [
    `Name:        ${c.name}`,
    `Schedule:    ${c.spec.schedule} (${c.spec.timeZone})${c.spec.suspend ? ' SUSPENDED' : ''}`,
    `Policy:      ${c.spec.concurrencyPolicy} · starting deadline ${c.spec.startingDeadlineSeconds ?? '-'} s`,
    `Last run:    ${c.lastScheduleTime !== undefined ? `${new Date(c.lastScheduleTime).toISOString()} (${ago(now, c.lastScheduleTime)} ago)` : '-'}`,
    `Next run:    ${c.nextScheduleTime !== undefined ? new Date(c.nextScheduleTime).toISOString() : '-'}`,
    `Active:      ${c.active.join(', ') || '-'}`,
    '',
    'Runs:',
    c.runs.length
      ? table(
          ['JOB', 'SCHEDULED', 'PHASE'],
          c.runs.map((r) => [r.job, new Date(r.scheduledAt).toISOString(), r.phase]),
        )
      : '  (none)',
    '',
    'Events:',
    ...eventLines(c.events),
  ].join('\n');
}

/** rolloutLine summarizes a service's progress towards its version: `web: version 2 · 2/3 healthy · 1 old`. */
export function rolloutLine(s: ServiceView): string {
  const old = s.instances.filter((i) => i.version !== s.version).length;
  return `${s.name}: version ${s.version} · ${s.healthy}/${s.desired} healthy · ${s.instances.length} instance(s)${old ? ` · ${old} old` : ''}${s.deployment ? ` · rolling out (${s.deployment.failures} failure(s))` : ''}`;
}

/** rolledOut tells whether a service has reached its version with every instance healthy. */
export function rolledOut(s: ServiceView): boolean {
  return (
    !s.deployment &&
    s.healthy >= s.desired &&
    s.instances.every((i) => i.version === s.version) &&
    s.instances.length === s.desired
  );
}

// --- commands --------------------------------------------------------------------------------

interface ApplyFlags extends ConfigFlags {
  file: string;
  wait: boolean;
  timeout: number;
}

async function apply(flags: ApplyFlags, streams: Streams): Promise<number> {
  let text: string;
  try {
    text = readFileSync(flags.file === '-' ? 0 : flags.file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${flags.file}: ${(err as Error).message}`, ExitCode.USAGE);
  }
  let specs: ReturnType<typeof parseSpecs>;
  try {
    specs = parseSpecs(text);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    for (const p of err.problems) streams.stderr.write(`${flags.file}: ${p}\n`);
    throw new CliError(`${flags.file} is not valid; nothing was applied`, ExitCode.USAGE);
  }
  return withApps(flags, 'mezzo-apply', async (apps) => {
    const watch: string[] = [];
    for (const spec of specs) {
      const r = await apps.apply(spec);
      const label = `${spec.kind.toLowerCase()}/${spec.name}`;
      streams.stdout.write(
        `${label} ${r.action === 'updated' ? `updated (version ${r.version})` : r.action}\n`,
      );
      for (const c of r.changes) streams.stdout.write(`  ${c}\n`);
      if (spec.kind === 'Service' && r.action !== 'unchanged') watch.push(spec.name);
    }
    if (!flags.wait) return ExitCode.OK;
    const deadline = Date.now() + flags.timeout * 1000;
    for (const name of watch) {
      let last = '';
      for (;;) {
        const s = await apps.get('Service', name);
        const line = rolloutLine(s);
        if (line !== last) streams.stdout.write(`${line}\n`);
        last = line;
        if (rolledOut(s)) break;
        if (Date.now() > deadline)
          throw new CliError(
            `service ${name} did not roll out within ${flags.timeout} s (mezzo describe service ${name})`,
          );
        await sleep(500);
      }
      streams.stdout.write(`service/${name} rolled out\n`);
    }
    return ExitCode.OK;
  });
}

interface ListFlags extends ConfigFlags {
  json?: boolean;
}

async function get(kind: AppKind, flags: ListFlags, streams: Streams): Promise<number> {
  return withApps(flags, 'mezzo-get', async (apps) => {
    const now = Date.now();
    if (kind === 'Service') {
      const items = await apps.list('Service');
      streams.stdout.write(
        flags.json ? `${JSON.stringify({ items }, null, 2)}\n` : `${servicesTable(items, now)}\n`,
      );
    } else if (kind === 'Job') {
      const items = await apps.list('Job');
      streams.stdout.write(
        flags.json ? `${JSON.stringify({ items }, null, 2)}\n` : `${jobsTable(items, now)}\n`,
      );
    } else {
      const items = await apps.list('CronJob');
      streams.stdout.write(
        flags.json ? `${JSON.stringify({ items }, null, 2)}\n` : `${cronJobsTable(items, now)}\n`,
      );
    }
    return ExitCode.OK;
  });
}

async function describe(kind: AppKind, name: string, flags: ListFlags, streams: Streams): Promise<number> {
  return withApps(flags, 'mezzo-describe', async (apps) => {
    const now = Date.now();
    const v = await apps.get(kind, name);
    if (flags.json) streams.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
    else if (kind === 'Service') streams.stdout.write(`${describeService(v as ServiceView, now)}\n`);
    else if (kind === 'Job') streams.stdout.write(`${describeJob(v as JobView, now)}\n`);
    else streams.stdout.write(`${describeCronJob(v as CronJobView, now)}\n`);
    return ExitCode.OK;
  });
}

interface LogsFlags extends ConfigFlags {
  follow?: boolean;
}

/** logs prints the recent output of a service's instances, a job's tasks, or one task; -f follows. */
async function logs(target: string, flags: LogsFlags, streams: Streams): Promise<number> {
  return withApps(flags, 'mezzo-logs', async (apps, bus, prefix) => {
    const find = async (): Promise<{ kind: 'Service' | 'Job'; r: LogsResult } | undefined> => {
      for (const kind of ['Service', 'Job'] as const) {
        try {
          return { kind, r: await apps.logs(kind, target) };
        } catch (err) {
          if (
            !(err instanceof RemoteError && err.code === 'NOT_FOUND') &&
            !(err instanceof RequestTimeoutError)
          )
            throw err;
        }
      }
      return undefined;
    };
    const found = await find();
    if (!found) throw new CliError(`no service, job or task named ${target}`);
    const many = found.r.tasks.length > 1 || found.r.tasks[0]?.taskId !== target;
    const out = (taskId: string, stream: 'stdout' | 'stderr', text: string) => {
      if (!text) return;
      const sink = stream === 'stdout' ? streams.stdout : streams.stderr;
      if (!many) return void sink.write(text);
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      for (const l of lines) sink.write(`[${taskId}] ${l}\n`);
    };
    for (const t of found.r.tasks) {
      out(t.taskId, 'stdout', t.stdout);
      out(t.taskId, 'stderr', t.stderr);
    }
    if (!flags.follow) return ExitCode.OK;
    const decoder = new TextDecoder();
    const followed = new Map<string, () => void>();
    const followAll = (r: LogsResult) => {
      for (const t of r.tasks) {
        if (followed.has(t.taskId) || isTerminal(t.state as TaskState)) continue;
        const subject = subjects(prefix).taskOutput(r.frameworkId, t.taskId);
        followed.set(
          t.taskId,
          bus.listen(subject, TaskOutput, (c) => out(t.taskId, c.stream, decoder.decode(c.data))),
        );
      }
    };
    followAll(found.r);
    const stop = new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    // New instances of a service (replacements, rollouts) are picked up as they appear.
    for (;;) {
      const tick = await Promise.race([stop.then(() => 'stop'), sleep(2000).then(() => 'poll')]);
      if (tick === 'stop') break;
      const again = await apps.logs(found.kind, target).catch(() => undefined);
      if (again) followAll(again);
      else if (!many) break;
    }
    for (const s of followed.values()) s();
    return ExitCode.OK;
  });
}

/**
 * serveApps runs the built-in frameworks in the foreground against a running cluster, each under
 * its lease: run it on several hosts and one copy of each acts, the others stand by. On a cluster
 * with credentials it needs a principal that may run frameworks and use JetStream (the master's).
 */
async function serveApps(flags: ConfigFlags & { replicas: number }, streams: Streams): Promise<number> {
  const log = cliLogger('mezzo-apps', 'info');
  const { prefix } = loadConfig(clusterFlags(flags)).config;
  const shutdown = onShutdownSignals(() => process.exit(ExitCode.INTERRUPTED));
  const conns: ClusterConnection[] = [];
  try {
    const builtIns = await startBuiltIns({
      connect: async (name) => {
        const conn = await connectCluster(clusterFlags(flags), name, log);
        conns.push(conn);
        return conn.bus;
      },
      prefix,
      log,
      replicas: flags.replicas,
    });
    const mine = Object.entries(builtIns.leading())
      .filter(([, l]) => l)
      .map(([k]) => k);
    streams.stdout.write(`mezzo apps ready: ${mine.length ? `leading ${mine.join(', ')}` : 'standing by'}\n`);
    const reason = await shutdown.requested;
    log.info({ reason }, 'stopping the built-in frameworks');
    await builtIns.stop();
    return ExitCode.OK;
  } finally {
    for (const c of conns) await c.close().catch(() => {});
    shutdown.dispose();
  }
}

const simple = (
  name: string,
  run: (apps: AppsClient) => Promise<{ message: string }>,
  flags: ConfigFlags,
  streams: Streams,
) =>
  withApps(flags, name, async (apps) => {
    streams.stdout.write(`${(await run(apps)).message}\n`);
    return ExitCode.OK;
  });

/** appsCommands are the commands for services, jobs and cron jobs. */
export function appsCommands(box: ExitBox, streams: Streams): Command[] {
  const applyCmd = withClusterOptions(
    new Command('apply').description(
      'create or update services, jobs and cron jobs from a YAML or JSON spec file; shows what changed, then follows the rollout of services',
    ),
  )
    .requiredOption(
      '-f, --file <file>',
      'the spec file (YAML documents separated by ---, or JSON); - reads stdin',
    )
    .option('--no-wait', 'return once applied, without following the rollout')
    .option('--timeout <seconds>', 'how long to follow a rollout', nonNegativeNumber, 300)
    .action(action(box, streams, (opts: ApplyFlags) => apply(opts, streams)));

  const getCmd = withClusterOptions(
    new Command('get')
      .description('list services, jobs or cron jobs')
      .argument('<kind>', 'services, jobs or cronjobs', kindArg),
  )
    .option('--json', 'print the list as JSON')
    .action(action(box, streams, (kind: AppKind, opts: ListFlags) => get(kind, opts, streams)));

  const describeCmd = withClusterOptions(
    new Command('describe')
      .description('show one service (instances with host, ports, health; events), job or cron job')
      .argument('<kind>', 'service, job or cronjob', kindArg)
      .argument('<name>', 'its name'),
  )
    .option('--json', 'print it as JSON')
    .action(
      action(box, streams, (kind: AppKind, name: string, opts: ListFlags) =>
        describe(kind, name, opts, streams),
      ),
    );

  const scaleCmd = withClusterOptions(
    new Command('scale')
      .description('set the number of instances of a service')
      .argument('<kind>', 'service', kindArg)
      .argument('<name>', 'the service')
      .argument('<instances>', 'how many instances', countArg),
  ).action(
    action(box, streams, (kind: AppKind, name: string, n: number, opts: ConfigFlags) => {
      if (kind !== 'Service')
        throw new CliError(`only services can be scaled, not ${KIND_PLURAL[kind]}`, ExitCode.USAGE);
      return simple('mezzo-scale', (apps) => apps.scale(name, n), opts, streams);
    }),
  );

  const deleteCmd = withClusterOptions(
    new Command('delete')
      .description('delete a service, job or cron job; its tasks are killed')
      .argument('<kind>', 'service, job or cronjob', kindArg)
      .argument('<name>', 'its name'),
  ).action(
    action(box, streams, (kind: AppKind, name: string, opts: ConfigFlags) =>
      simple('mezzo-delete', (apps) => apps.delete(kind, name), opts, streams),
    ),
  );

  const restartCmd = withClusterOptions(
    new Command('restart')
      .description('replace every instance of a service by a rolling restart')
      .argument('<kind>', 'service', kindArg)
      .argument('<name>', 'the service'),
  ).action(
    action(box, streams, (kind: AppKind, name: string, opts: ConfigFlags) => {
      if (kind !== 'Service')
        throw new CliError(`only services can be restarted, not ${KIND_PLURAL[kind]}`, ExitCode.USAGE);
      return simple('mezzo-restart', (apps) => apps.restart(name), opts, streams);
    }),
  );

  const logsCmd = withClusterOptions(
    new Command('logs')
      .description(
        "print the recent stdout/stderr of a service's instances, a job's tasks, or one task; -f follows live output",
      )
      .argument('<target>', 'a service or job name, or a task id'),
  )
    .option('-f, --follow', 'keep printing output as it comes (Ctrl-C to stop)')
    .action(action(box, streams, (target: string, opts: LogsFlags) => logs(target, opts, streams)));

  const appsCmd = withClusterOptions(
    new Command('apps').description(
      'run the built-in services, jobs and cron frameworks in the foreground, each under its lease (mezzo up runs them too)',
    ),
  )
    .option(
      '--replicas <n>',
      "replicas of the frameworks' KV buckets and leases (3 or 5 on a JetStream cluster)",
      positiveInteger,
      1,
    )
    .action(action(box, streams, (opts: ConfigFlags & { replicas: number }) => serveApps(opts, streams)));

  return [applyCmd, getCmd, describeCmd, scaleCmd, deleteCmd, restartCmd, logsCmd, appsCmd];
}
