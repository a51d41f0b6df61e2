import { Command } from 'commander';
import { Operator, Scheduler } from '../../frameworks/sdk/index.js';
import {
  type HealthCheck,
  isTerminal,
  type Offer,
  Reason,
  type TaskOutput,
  TaskState,
  type TaskStatus,
} from '../../protocol/index.js';
import { action, type ExitBox, type Streams } from '../action.js';
import { type ClusterConnection, connectCluster, explainMasterError } from '../cluster-connection.js';
import type { ConfigFlags } from '../config.js';
import { ExitCode } from '../errors.js';
import { taskOutcome } from '../exit-code.js';
import { canAnyAgentFit } from '../fit-check.js';
import { type HealthFlags, healthCheckFor } from '../health-flags.js';
import { cliLogger } from '../logging.js';
import { clusterFlags, collect, nonNegativeNumber, withClusterOptions } from '../options.js';
import { pickOffer } from '../pick-offer.js';
import { buildTaskRequest, type RunFlags, type TaskRequest } from '../task-request.js';

/** How often the "could any agent fit this" check runs again while no offer fits (ms). */
const RECHECK_MS = 3000;
/** How long to wait for the output's end after the task's final status (ms). */
const OUTPUT_GRACE_MS = 2000;
/** How long a kill may take to be confirmed before the framework is torn down anyway (ms). */
const KILL_WAIT_MS = 20_000;
/** Launches retried when the offer went away under us (TASK_DROPPED for invalid offers). */
const MAX_LAUNCHES = 3;
/** Offers are not offered back to this framework for this long once it has what it needs (s). */
const REFUSE_SECONDS = 60;

type Phase = 'waiting' | 'launched' | 'ending';

/** End is how a run ends: an exit code, and the last line for stderr. */
interface End {
  code: number;
  line: string;
}

/**
 * runSession drives one task through the SDK: it follows the task's output, launches on the first
 * offer that fits, streams stdout and stderr, and ends with the task's final state. Ctrl-C kills
 * the task and waits for TASK_KILLED.
 */
async function runSession(
  conn: ClusterConnection,
  request: TaskRequest & { healthCheck?: HealthCheck },
  flags: RunFlags,
  streams: Streams,
): Promise<End> {
  const log = cliLogger('mezzo-run', 'warn');
  const operator = new Operator(conn.bus, conn.subjects, false, { principal: conn.principal });
  const first = canAnyAgentFit(await operator.agents(), request);
  if (first.kind === 'never') return { code: ExitCode.USAGE, line: `mezzo run: ${first.message}` };
  if (first.kind === 'no-agents') streams.stderr.write(`mezzo run: waiting: ${first.message}\n`);

  let phase: Phase = 'waiting';
  let launches = 0;
  let interrupted = false;
  let stopFollowing: (() => void) | undefined;
  const eof = { stdout: false, stderr: false };
  const lastSeq = { stdout: -1, stderr: -1 };
  let outputDone!: () => void;
  const outputEnded = new Promise<void>((r) => (outputDone = r));
  let settle!: (end: End) => void;
  const ended = new Promise<End>((r) => (settle = r));
  const end = (e: End) => {
    phase = 'ending';
    settle(e);
  };

  const onChunk = (chunk: TaskOutput) => {
    if (chunk.seq <= lastSeq[chunk.stream]) return; // a duplicate
    lastSeq[chunk.stream] = chunk.seq;
    if (chunk.data.byteLength)
      (chunk.stream === 'stdout' ? streams.stdout : streams.stderr).write(chunk.data);
    if (chunk.eof) eof[chunk.stream] = true;
    if (eof.stdout && eof.stderr) outputDone();
  };

  const launchOn = (offer: Offer) => {
    phase = 'launched';
    launches++;
    // Subscribed on the same connection before the ACCEPT goes out: no output byte can be missed.
    stopFollowing ??= scheduler.followOutput(request.taskId, onChunk);
    const task = {
      taskId: request.taskId,
      name: request.name,
      resources: request.resources,
      command: request.command,
      ...(request.container ? { container: request.container } : {}),
      ...(request.healthCheck ? { healthCheck: request.healthCheck } : {}),
      ...(request.rlimits ? { rlimits: request.rlimits } : {}),
    };
    scheduler
      .launch(offer, [task], { refuseSeconds: REFUSE_SECONDS })
      .then(() => scheduler.suppress())
      .catch((err) => {
        if (phase === 'launched')
          end({ code: ExitCode.FAILURE, line: `mezzo run: could not launch: ${(err as Error).message}` });
      });
  };

  const onOffers = (offers: Offer[]) => {
    if (phase !== 'waiting' || interrupted) {
      void scheduler
        .decline(
          offers.map((o) => o.id),
          { refuseSeconds: REFUSE_SECONDS },
        )
        .catch(() => {});
      return;
    }
    const choice = pickOffer(offers, request);
    if (choice.decline.length) {
      // Offers that do not fit come back soon, in case resources free up; the rest of a used one waits.
      const refuseSeconds = choice.offer ? REFUSE_SECONDS : 2;
      void scheduler
        .decline(
          choice.decline.map((o) => o.id),
          { refuseSeconds },
        )
        .catch(() => {});
    }
    if (choice.offer) launchOn(choice.offer);
  };

  const onUpdate = async (status: TaskStatus) => {
    // Acknowledged here rather than automatically, so that the final one goes out before TEARDOWN.
    const acked = scheduler.acknowledge(status).catch((err) => log.debug({ err }, 'acknowledgement failed'));
    if (status.taskId !== request.taskId || phase === 'ending') return;
    log.debug({ state: status.state, reason: status.reason }, 'task update');
    if (!isTerminal(status.state)) return;
    if (
      status.state === TaskState.DROPPED &&
      status.reason === Reason.INVALID_OFFERS &&
      launches < MAX_LAUNCHES &&
      !interrupted
    ) {
      // The offer went away before the launch reached it: wait for another.
      phase = 'waiting';
      void scheduler.revive().catch(() => {});
      return;
    }
    phase = 'ending';
    if (status.source !== 'SOURCE_MASTER') {
      await Promise.race([outputEnded, new Promise((r) => setTimeout(r, OUTPUT_GRACE_MS))]);
    }
    await acked;
    const outcome = taskOutcome(status, { interrupted });
    settle({ code: outcome.exitCode, line: outcome.line });
  };

  const scheduler = await Scheduler.start({
    nats: conn.bus,
    prefix: conn.config.prefix,
    log,
    autoAcknowledge: false,
    framework: {
      name: 'mezzo-run',
      roles: [request.role],
      ...(flags.user ? { user: flags.user } : {}),
    },
    handlers: {
      offers: onOffers,
      update: onUpdate,
      error: (message) =>
        end({ code: ExitCode.FAILURE, line: `mezzo run: the master ended the framework: ${message}` }),
      disconnected: (reason) => log.warn({ reason }, 'lost the master; resubscribing'),
    },
  });
  scheduler
    .subscribed()
    .catch((err) => end({ code: ExitCode.FAILURE, line: `mezzo run: ${(err as Error).message}` }));

  const recheck = setInterval(() => {
    if (phase !== 'waiting') return;
    operator.agents().then(
      (agents) => {
        const verdict = canAnyAgentFit(agents, request);
        if (verdict.kind === 'never' && phase === 'waiting')
          end({ code: ExitCode.USAGE, line: `mezzo run: ${verdict.message}` });
      },
      () => {},
    );
  }, RECHECK_MS);

  let killTimer: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted || phase === 'ending') {
      end({
        code: ExitCode.INTERRUPTED,
        line: `mezzo run: interrupted again; tearing down without waiting (${signal})`,
      });
      return;
    }
    interrupted = true;
    if (phase === 'waiting') {
      end({
        code: ExitCode.INTERRUPTED,
        line: `mezzo run: interrupted before task ${request.taskId} was launched`,
      });
      return;
    }
    streams.stderr.write(`mezzo run: killing task ${request.taskId}\n`);
    scheduler.kill(request.taskId).catch((err) => log.warn({ err }, 'kill failed'));
    killTimer = setTimeout(
      () =>
        end({
          code: ExitCode.INTERRUPTED,
          line: `mezzo run: task ${request.taskId} did not confirm the kill; tearing down`,
        }),
      KILL_WAIT_MS,
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    return await ended;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    clearInterval(recheck);
    clearTimeout(killTimer);
    stopFollowing?.();
    // TEARDOWN removes the framework and kills anything it still runs.
    await Promise.race([scheduler.teardown().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
    await scheduler.close().catch(() => {});
  }
}

/** run is `mezzo run`: one task, its output streamed, its exit code returned. */
export async function run(
  args: string[],
  flags: RunFlags & HealthFlags & ConfigFlags,
  streams: Streams,
): Promise<number> {
  const request = { ...buildTaskRequest(args, flags), healthCheck: healthCheckFor(flags) };
  const log = cliLogger('mezzo-run', 'warn');
  const conn = await connectCluster(clusterFlags(flags), 'mezzo-run', log);
  try {
    const end = await runSession(conn, request, flags, streams);
    streams.stderr.write(`${end.line}\n`);
    return end.code;
  } catch (err) {
    throw explainMasterError(err, conn);
  } finally {
    await conn.close().catch(() => {});
  }
}

/** runCommand is `mezzo run [options] -- CMD [ARGS...]`. */
export function runCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('run')
      .summary('run one task on the cluster and stream its output')
      .description(
        'Run one task on the cluster, stream its stdout and stderr live, and exit with its exit code.',
      )
      .addHelpText(
        'after',
        [
          '',
          'Commands:',
          "  one argument is a shell command line      mezzo run -- 'echo $HOME | wc -c'",
          '  several arguments run without a shell     mezzo run -- echo hello',
          "                                            mezzo run -- sh -c 'echo out; exit 7'",
          '  --shell joins the arguments into one command line; --no-shell runs even one argument as a program.',
          '  --image NAME runs the command in a Docker container of that image (local to the agent, never pulled):',
          '                                            mezzo run --image alpine:3 -- cat /etc/os-release',
          '',
          'Exit codes:',
          "  0 on TASK_FINISHED; the task's own code on TASK_FAILED (128+n if signal n ended it);",
          '  2 when no agent could ever fit the request; 130 after Ctrl-C, which kills the task;',
          '  1 for other failures (TASK_ERROR, TASK_LOST, TASK_DROPPED..., no cluster).',
        ].join('\n'),
      )
      .argument('<command...>', 'the command and its arguments (after --)')
      .passThroughOptions(),
  )
    .option('--cpus <n>', 'cpus for the task', nonNegativeNumber, 0.1)
    .option('--mem <mb>', 'memory for the task, in MB', nonNegativeNumber, 32)
    .option('--disk <mb>', 'disk for the task, in MB', nonNegativeNumber, 0)
    .option('--role <role>', 'role to run as', '*')
    .option('--name <name>', 'task name (the task id is the name plus a random suffix)')
    .option('--env <K=V>', 'environment variable for the task (repeatable)', collect, [])
    .option('--user <user>', 'user to run the task as')
    .option('--shell', 'run the arguments, joined with spaces, as a shell command line')
    .option('--no-shell', 'run the arguments as a program and its arguments, without a shell')
    .option(
      '--rlimit <type=soft[:hard]>',
      'POSIX limit of the task, e.g. nofile=1024:4096 (repeatable)',
      collect,
      [],
    )
    .option('--image <name>', 'run the command in a Docker container of this image (it must be on the agent)')
    .option('--health-cmd <command>', 'health check: a shell command that exits 0 while the task is healthy')
    .option('--health-http <port[/path]>', 'health check: GET http://127.0.0.1:PORT/path answers 2xx or 3xx')
    .option('--health-tcp <port>', 'health check: 127.0.0.1:PORT accepts connections')
    .option('--health-delay <s>', 'seconds before the first health check (default 15)', nonNegativeNumber)
    .option('--health-interval <s>', 'seconds between health checks (default 10)', nonNegativeNumber)
    .option('--health-timeout <s>', 'seconds one health check may take (default 20)', nonNegativeNumber)
    .option('--health-grace <s>', 'seconds when early failures are ignored (default 10)', nonNegativeNumber)
    .option('--health-failures <n>', 'failures in a row that kill; 0: never (default 3)', nonNegativeNumber)
    .action(
      action(box, streams, (args: string[], opts: RunFlags & HealthFlags & ConfigFlags) =>
        run(args, opts, streams),
      ),
    );
}
