import { parseArgs } from 'node:util';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { defaultMasterConfig } from '../../actors/master/config.js';
import { applyRegistryOps, emptyRegistry, type RegistryOp } from '../../actors/master/registry.js';
import { restoreFromRegistry } from '../../actors/master/registry-restore.js';
import { createMasterState } from '../../actors/master/state.js';
import { decode, encode } from '../../bus/index.js';
import { AgentInfo, AgentToMaster, FrameworkInfo, resources as R, TaskInfo } from '../../protocol/index.js';
import { positiveInt } from '../common/index.js';

const HELP = `usage: node dist/bench/failover/register-cost.js [--agents N] [--tasks-per-agent K] [--rounds R]

The new leader's CPU cost of the REGISTERs after a failover, without NATS or other processes: a
master state restored from a registry of N agents and 5 frameworks takes N REGISTERs of K running
tasks each (as bench:failover's simulated agents send them), each decoded from msgpack, validated
with zod and handled, in one process. Prints per stage the time per REGISTER (best of R rounds,
a fresh state each round):
  register_cost agents=N tasks_per_agent=K decode_us=.. validate_us=.. handle_us=.. total_us=.. total_ms=..
`;

function main(): void {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string' },
      'tasks-per-agent': { type: 'string' },
      rounds: { type: 'string' },
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
  const frameworks = Array.from({ length: 5 }, (_, i) =>
    FrameworkInfo.parse({ id: `f-${i}`, name: `f-${i}`, roles: ['*'], failoverTimeoutSeconds: 3600 }),
  );
  const res = R.parseResources('cpus:0.1;mem:32');
  const infos = Array.from({ length: agents }, (_, i) =>
    AgentInfo.parse({
      id: `a-${i}`,
      hostname: `h-${i}`,
      resources: R.parseResources('cpus:32;mem:131072'),
      version: '0.1.0',
      capabilities: ['BATCHING'],
    }),
  );
  const ops: RegistryOp[] = [
    ...frameworks.map((framework) => ({ type: 'FRAMEWORK_ADDED' as const, framework })),
    ...infos.map((agent) => ({ type: 'AGENT_ADMITTED' as const, agent, total: agent.resources })),
  ];
  const registry = applyRegistryOps(emptyRegistry(), ops);
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
    const state = createMasterState(defaultMasterConfig({ masterId: 'm-bench' }), 2000, {
      agentOrder: 'added',
    });
    restoreFromRegistry(state, registry, 2000, 62_000);
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
}

main();
