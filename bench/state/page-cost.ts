import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { handleOperatorCall } from '../../actors/master/operator-calls.js';
import type { MasterState } from '../../actors/master/state.js';
import { encode } from '../../bus/index.js';
import { DEFAULT_PAGE_AGENTS, DEFAULT_PAGE_TASKS } from '../../frameworks/sdk/index.js';
import { AgentToMaster, resources as R, TaskInfo } from '../../protocol/index.js';
import { positiveInt, restoredMaster, seedCluster } from '../common/index.js';

const HELP = `usage: node dist/bench/state/page-cost.js [--agents N] [--page N] [--page-agents N] [--reads R]

The master's own cost of a whole-state read, without NATS or other processes: a master state of
N agents with 10 running tasks each (and 1,000 finished tasks in each of 5 frameworks, as
bench:state has them) answers R whole GET_STATE reads as the SDK asks for them: tables, pages of
at most --page tasks (default ${DEFAULT_PAGE_TASKS}) and --page-agents agents (default
${DEFAULT_PAGE_AGENTS}; 0: the whole agent table with the first page, as before agents were
paged), each page answered by the operator-call handler and packed as the bus packs a reply.
Prints one line per read and a summary:
  page_cost agents=N tasks=.. pages=.. read_ms=.. handle_ms=.. pack_ms=.. page_max_ms=.. first_page_ms=.. gc_ms=..
(read_ms: handling and packing every page; page_max_ms: the longest page, handled and packed,
which is how long one page holds the master's event loop; the median read of R is reported).
`;

/** seededState builds a master state as bench:state's simulated agents leave it, through REGISTERs. */
function seededState(agents: number, perAgent: number, finishedPerAgent: number): MasterState {
  const {
    frameworks,
    agents: infos,
    registry,
  } = seedCluster(agents, {
    agentPrefix: 'sim-agent-',
    frameworkPrefix: 'state-',
  });
  const res = R.parseResources('cpus:0.1;mem:32');
  const state = restoredMaster(registry);
  infos.forEach((agent, i) => {
    const framework = frameworks[i % frameworks.length];
    const tasks = Array.from({ length: perAgent + finishedPerAgent }, (_, k) => {
      const task = TaskInfo.parse({
        taskId: `s${i}-${k}`,
        name: 'seeded',
        agentId: agent.id,
        resources: res,
        command: { value: 'true' },
      });
      const state = k < perAgent ? 'TASK_RUNNING' : 'TASK_FINISHED';
      return {
        frameworkId: framework.id,
        task,
        status: {
          taskId: task.taskId,
          agentId: agent.id,
          state,
          source: 'SOURCE_EXECUTOR',
          timestamp: 1000 + i,
        },
      };
    });
    const msg = AgentToMaster.parse({ type: 'REGISTER', agent, tasks, frameworks: [framework] });
    handleAgentMessage(state, agent.id, msg, 3000);
  });
  return state;
}

interface ReadCost {
  pages: number;
  tasks: number;
  handleMs: number;
  packMs: number;
  pageMaxMs: number;
  firstPageMs: number;
  gcMs?: number;
}

let gcMs = 0;

/**
 * readAll reads the whole state as Operator.stateRows() asks for it, page by page: with a page of
 * at most `pageAgents` agents each (0: the whole agent table with the first page, as before).
 */
function readAll(state: MasterState, pageTasks: number, pageAgents: number): ReadCost {
  const cost: ReadCost = { pages: 0, tasks: 0, handleMs: 0, packMs: 0, pageMaxMs: 0, firstPageMs: 0 };
  let tasksFrom: number | undefined = 0;
  let agentsFrom: number | undefined = pageAgents > 0 ? 0 : undefined;
  while (tasksFrom !== undefined || agentsFrom !== undefined) {
    const t0 = performance.now();
    const { result } = handleOperatorCall(
      state,
      {
        type: 'GET_STATE',
        tasksFrom: tasksFrom ?? cost.tasks,
        maxTasks: pageTasks,
        tasksAs: 'table',
        agentsAs: 'table',
        ...(agentsFrom !== undefined ? { agentsFrom, maxAgents: pageAgents } : {}),
      },
      5000,
    );
    const t1 = performance.now();
    encode({ ok: true, result });
    const t2 = performance.now();
    const page = result as { taskTable: { rows: number }; nextTasksFrom?: number; nextAgentsFrom?: number };
    cost.handleMs += t1 - t0;
    cost.packMs += t2 - t1;
    cost.pageMaxMs = Math.max(cost.pageMaxMs, t2 - t0);
    if (cost.pages === 0) cost.firstPageMs = t2 - t0;
    cost.pages++;
    cost.tasks += page.taskTable.rows;
    tasksFrom = page.nextTasksFrom;
    agentsFrom = agentsFrom !== undefined ? page.nextAgentsFrom : undefined;
  }
  return cost;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string' },
      page: { type: 'string' },
      reads: { type: 'string' },
      'page-agents': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const agents = positiveInt('agents', values.agents, 40_000);
  const pageTasks = positiveInt('page', values.page, DEFAULT_PAGE_TASKS);
  const reads = positiveInt('reads', values.reads, 5);
  const pageAgents =
    values['page-agents'] === '0'
      ? 0
      : positiveInt('page-agents', values['page-agents'], DEFAULT_PAGE_AGENTS);
  const state = seededState(agents, 10, 10);
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  const costs: ReadCost[] = [];
  const f = (x: number) => x.toFixed(1);
  for (let r = 0; r < reads; r++) {
    const before = gcMs;
    const c = readAll(state, pageTasks, pageAgents);
    // The collector's entries arrive on the event loop: let them in before the next read.
    await new Promise((r) => setTimeout(r, 50));
    c.gcMs = gcMs - before;
    costs.push(c);
    process.stdout.write(
      `# read ${r + 1}: tasks=${c.tasks} pages=${c.pages} read_ms=${f(c.handleMs + c.packMs)} handle_ms=${f(c.handleMs)} pack_ms=${f(c.packMs)} page_max_ms=${f(c.pageMaxMs)} first_page_ms=${f(c.firstPageMs)} gc_ms=${f(c.gcMs ?? 0)}\n`,
    );
  }
  gc.disconnect();
  const median = [...costs].sort((a, b) => a.handleMs + a.packMs - (b.handleMs + b.packMs))[(reads - 1) >> 1];
  process.stdout.write(
    `page_cost agents=${agents} tasks=${median.tasks} pages=${median.pages} read_ms=${f(median.handleMs + median.packMs)} handle_ms=${f(median.handleMs)} pack_ms=${f(median.packMs)} page_max_ms=${f(Math.max(...costs.map((c) => c.pageMaxMs)))} first_page_ms=${f(median.firstPageMs)} gc_ms=${f(median.gcMs ?? 0)}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`page-cost: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
