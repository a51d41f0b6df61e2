import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectNats, createLogger, NatsBus } from '../../bus/index.js';
import { subjects } from '../../protocol/index.js';
import { type ExecutorRun, recoveryTimeoutMs, runExecutor } from './runtime.js';
import { ExecutorEnv, TASK_FILE, TaskFile } from './task-file.js';

/**
 * The command executor process. The agent starts it with MEZZO_NATS_URL, MEZZO_PREFIX,
 * MEZZO_AGENT_ID, MEZZO_EXECUTOR_ID and MEZZO_SANDBOX set, and `<sandbox>/task.json` written; it
 * exits 0 once its task's terminal update is acknowledged. Its log is `<sandbox>/executor.log`.
 */
function required(name: ExecutorEnv): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; the executor is started by an agent`);
  return v;
}

const log = createLogger('mezzo-executor').child({
  agentId: process.env[ExecutorEnv.AGENT_ID],
  executorId: process.env[ExecutorEnv.EXECUTOR_ID],
});

let run: ExecutorRun | undefined;
let signalled = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    log.info({ signal }, 'told to stop: killing the task');
    signalled = true;
    run?.kill();
  });
}

async function main(): Promise<void> {
  const sandbox = required(ExecutorEnv.SANDBOX);
  const prefix = required(ExecutorEnv.PREFIX);
  const file = TaskFile.parse(JSON.parse(readFileSync(join(sandbox, TASK_FILE), 'utf8')));
  if (
    file.agentId !== required(ExecutorEnv.AGENT_ID) ||
    file.executorId !== required(ExecutorEnv.EXECUTOR_ID)
  ) {
    throw new Error(
      `${TASK_FILE} names agent ${file.agentId} and executor ${file.executorId}, not this executor's`,
    );
  }
  const nc = await connectNats({
    servers: required(ExecutorEnv.NATS_URL).split(','),
    name: `mezzo-executor-${file.executorId}`,
    log,
  });
  const bus = new NatsBus(nc, log);
  run = await runExecutor({
    bus,
    subjects: subjects(prefix),
    log,
    file,
    sandbox,
    env: process.env,
    giveUpMs: recoveryTimeoutMs(process.env),
  });
  if (signalled) run.kill();
  await run.done;
  await bus.close();
}

main().then(
  () => log.flush(() => process.exit(0)),
  (err) => {
    log.error({ err }, 'executor failed');
    log.flush(() => process.exit(1));
  },
);
