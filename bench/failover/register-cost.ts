import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { registryScope } from '../../actors/master/leadership.js';
import type { MasterEvent } from '../../actors/master/machine.js';
import { applyAll, registryDiff } from '../../actors/master/registry-diff.js';
import { decode, encode, type IntakeVerdict, silentLogger, WorkerIntake } from '../../bus/index.js';
import { AgentToMaster, resources as R, TaskInfo } from '../../protocol/index.js';
import { positiveInt, restoredMaster, seedCluster } from '../common/index.js';

const HELP = `usage: node dist/bench/failover/register-cost.js [--agents N] [--tasks-per-agent K] [--rounds R] [--intake-workers W]

The new leader's CPU cost of the REGISTERs after a failover, without NATS or other processes: a
master state restored from a registry of N agents and 5 frameworks takes N REGISTERs of K running
tasks each (as bench:failover's simulated agents send them), each decoded from msgpack, validated
with zod and handled, in one process. Prints per stage the time per REGISTER (best of R rounds,
a fresh state each round):
  register_cost agents=N tasks_per_agent=K decode_us=.. validate_us=.. handle_us=.. total_us=.. total_ms=..
Then the same REGISTERs through the master's intake (bus/worker-intake.ts, W worker threads,
default 1): handed over 32 at a time, one batch per macrotask as a NATS read delivers them, and
handled as their verdicts come back, each followed by the registry diff the leader's runtime makes
(the frameworks' infos are copies of the registry's, as after they resubscribed). intake_main_us
is the main thread's busy time per REGISTER for handing over, unpacking the verdicts, handling and
diffing (event loop utilization), intake_wall_us the elapsed time; intake_total_ms the main
thread's time for all of them:
  register_intake agents=N tasks_per_agent=K workers=W intake_main_us=.. handle_us=.. diff_us=.. intake_wall_us=.. intake_total_ms=..
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string' },
      'tasks-per-agent': { type: 'string' },
      rounds: { type: 'string' },
      'intake-workers': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const agents = positiveInt('agents', values.agents, 10_000);
  const perAgent = positiveInt('tasks-per-agent', values['tasks-per-agent'], 10);
  const rounds = positiveInt('rounds', values.rounds, 5);
  const workers = positiveInt('intake-workers', values['intake-workers'], 1);
  const { frameworks, agents: infos, registry } = seedCluster(agents);
  const res = R.parseResources('cpus:0.1;mem:32');
  const wire = infos.map((agent, i) => {
    const tasks = Array.from({ length: perAgent }, (_, k) => {
      const framework = frameworks[(i + k) % frameworks.length];
      const task = TaskInfo.parse({
        taskId: `t-${i}-${k}`,
        name: 't',
        agentId: agent.id,
        resources: res,
        command: { value: 'sleep 1d' },
      });
      return {
        frameworkId: framework.id,
        task,
        status: {
          taskId: task.taskId,
          agentId: agent.id,
          state: 'TASK_RUNNING',
          source: 'SOURCE_EXECUTOR',
          uuid: `u-${i}-${k}`,
          timestamp: 1000,
        },
      };
    });
    const used = [...new Set(tasks.map((t) => t.frameworkId))];
    return encode({
      type: 'REGISTER',
      agent,
      tasks,
      frameworks: frameworks.filter((f) => used.includes(f.id)),
    });
  });
  const best = { decode: Infinity, validate: Infinity, handle: Infinity };
  for (let round = 0; round < rounds; round++) {
    const state = restoredMaster(registry);
    let t = process.hrtime.bigint();
    const raw = wire.map((bytes) => decode(bytes));
    const tDecode = process.hrtime.bigint();
    const msgs = raw.map((m) => AgentToMaster.parse(m));
    const tValidate = process.hrtime.bigint();
    for (let i = 0; i < msgs.length; i++) handleAgentMessage(state, infos[i].id, msgs[i], 3000);
    const tHandle = process.hrtime.bigint();
    const known = [...state.frameworks.values()].reduce((n, f) => n + f.tasks.size, 0);
    if (known !== agents * perAgent) throw new Error(`expected ${agents * perAgent} tasks, have ${known}`);
    best.decode = Math.min(best.decode, Number(tDecode - t) / 1000 / agents);
    best.validate = Math.min(best.validate, Number(tValidate - tDecode) / 1000 / agents);
    best.handle = Math.min(best.handle, Number(tHandle - tValidate) / 1000 / agents);
    t = tHandle;
  }
  const total = best.decode + best.validate + best.handle;
  const f = (x: number) => x.toFixed(1);
  process.stdout.write(
    `register_cost agents=${agents} tasks_per_agent=${perAgent} decode_us=${f(best.decode)} validate_us=${f(best.validate)} handle_us=${f(best.handle)} total_us=${f(total)} total_ms=${Math.round((total * agents) / 1000)}\n`,
  );

  const intake = new WorkerIntake({
    schemaName: 'AgentToMaster',
    workers,
    minBytes: 1024,
    log: silentLogger,
  });
  // The worker starts on the first large message; wait until it is up, as a leader's is after the first REGISTERs.
  await new Promise<void>((done) => intake.submit('warm', wire[0], Infinity, () => done()));
  while (intake.stats().workersReady < workers) await new Promise((r) => setTimeout(r, 10));
  const bestIntake = { main: Infinity, handle: Infinity, diff: Infinity, wall: Infinity };
  for (let round = 0; round < rounds; round++) {
    const state = restoredMaster(registry);
    for (const fw of state.frameworks.values()) fw.info = structuredClone(fw.info);
    let reg = registry;
    let handleNs = 0n;
    let diffNs = 0n;
    let handled = 0;
    const t0 = performance.now();
    const elu0 = performance.eventLoopUtilization();
    await new Promise<void>((finished, failed) => {
      const done = (i: number) => (v: IntakeVerdict) => {
        if (!v.ok) return failed(v.error);
        const h = process.hrtime.bigint();
        const msg = v.value as AgentToMaster;
        handleAgentMessage(state, infos[i].id, msg, 3000);
        const d = process.hrtime.bigint();
        handleNs += d - h;
        state.recovering?.delete(infos[i].id);
        const scope = registryScope({
          type: 'AGENT_MESSAGE',
          now: 3000,
          agentId: infos[i].id,
          msg,
        } as MasterEvent);
        const ops = scope ? registryDiff(reg, state, scope, 3000) : [];
        if (ops.length > 0) reg = applyAll(reg, ops);
        diffNs += process.hrtime.bigint() - d;
        if (++handled === agents) finished();
      };
      let next = 0;
      const handOver = () => {
        for (const end = Math.min(agents, next + 32); next < end; next++)
          intake.submit(`agent.${infos[next].id}`, wire[next], Infinity, done(next));
        if (next < agents) setImmediate(handOver);
      };
      handOver();
    });
    const elu = performance.eventLoopUtilization(elu0);
    const wall = performance.now() - t0;
    const known = [...state.frameworks.values()].reduce((n, x) => n + x.tasks.size, 0);
    if (known !== agents * perAgent)
      throw new Error(`intake: expected ${agents * perAgent} tasks, have ${known}`);
    bestIntake.main = Math.min(bestIntake.main, (elu.active * 1000) / agents);
    bestIntake.handle = Math.min(bestIntake.handle, Number(handleNs) / 1000 / agents);
    bestIntake.diff = Math.min(bestIntake.diff, Number(diffNs) / 1000 / agents);
    bestIntake.wall = Math.min(bestIntake.wall, (wall * 1000) / agents);
  }
  const s = intake.stats();
  await intake.close();
  if (s.offThread < rounds * agents)
    throw new Error(`intake: only ${s.offThread} REGISTERs went to a worker`);
  process.stdout.write(
    `register_intake agents=${agents} tasks_per_agent=${perAgent} workers=${workers} intake_main_us=${f(bestIntake.main)} handle_us=${f(bestIntake.handle)} diff_us=${f(bestIntake.diff)} intake_wall_us=${f(bestIntake.wall)} intake_total_ms=${Math.round((bestIntake.main * agents) / 1000)}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`register-cost: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
