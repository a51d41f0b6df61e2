import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import type { MasterState } from '../../actors/master/state.js';
import { decode, encode } from '../../bus/index.js';
import { AgentToMaster, resources as R } from '../../protocol/index.js';
import { positiveInt, restoredMaster, seedCluster } from '../common/index.js';

const HELP = `usage: node dist/bench/state/task-heap.js [--agents N] [--tasks-per-agent K]

The master's heap per running task, in one process: a master state restored from a registry of N
agents and 5 frameworks takes N REGISTERs of K running tasks each (encoded, decoded, validated
and handled as the master does); the heap in use after a full collection, before and after, gives
the bytes each task costs. That is what a full collection of a large master has to mark. Prints
  task_heap agents=N tasks=.. heap_mb=.. bytes_per_task=..
`;

/** TaskHeap is what one measurement found. */
export interface TaskHeap {
  agents: number;
  tasks: number;
  heapBytes: number;
  bytesPerTask: number;
  line: string;
}

/** measureTaskHeap fills a master state with running tasks and measures the heap they take. */
export function measureTaskHeap(o: { agents: number; perAgent: number }): TaskHeap {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { frameworks, agents: infos, registry } = seedCluster(o.agents);
  const state: MasterState = restoredMaster(registry);
  const res = R.parseResources('cpus:0.1;mem:32');
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < o.agents; i++) {
    const agent = infos[i];
    const tasks = Array.from({ length: o.perAgent }, (_, k) => ({
      frameworkId: frameworks[(i + k) % frameworks.length].id,
      task: {
        taskId: `t-${i}-${k}`,
        name: 't',
        agentId: agent.id,
        resources: res,
        command: { value: 'sleep 1d' },
      },
      status: {
        taskId: `t-${i}-${k}`,
        agentId: agent.id,
        state: 'TASK_RUNNING',
        source: 'SOURCE_EXECUTOR',
        uuid: `u-${i}-${k}`,
        timestamp: 1000,
      },
    }));
    const wire = encode({ type: 'REGISTER', agent, tasks, frameworks });
    handleAgentMessage(state, agent.id, AgentToMaster.parse(decode(wire)), 3000);
  }
  gc();
  const heapBytes = process.memoryUsage().heapUsed - before;
  const known = [...state.frameworks.values()].reduce((n, f) => n + f.tasks.size, 0);
  if (known !== o.agents * o.perAgent)
    throw new Error(`expected ${o.agents * o.perAgent} tasks, have ${known}`);
  const bytesPerTask = Math.round(heapBytes / known);
  return {
    agents: o.agents,
    tasks: known,
    heapBytes,
    bytesPerTask,
    line: `task_heap agents=${o.agents} tasks=${known} heap_mb=${(heapBytes / 1e6).toFixed(1)} bytes_per_task=${bytesPerTask}`,
  };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string' },
      'tasks-per-agent': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const r = measureTaskHeap({
    agents: positiveInt('agents', values.agents, 10_000),
    perAgent: positiveInt('tasks-per-agent', values['tasks-per-agent'], 20),
  });
  process.stdout.write(`${r.line}\n`);
}

if (process.argv[1]?.endsWith('task-heap.js')) main();
