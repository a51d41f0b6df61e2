import { DEFAULT_PAGE_AGENTS, type Operator } from '../../frameworks/sdk/index.js';
import type { StateView, TasksAs } from '../../protocol/index.js';

/** Fetched is what timing GET_STATE `calls` times, page by page, measured. */
export interface Fetched {
  getStateMs: number[];
  stateMb?: number;
  masterTasks: number;
  pages: number;
  pageMaxMs: number;
  /** Making every row of the first call's state into a TaskView object (tables only; the SDK makes the agents). */
  materializeMs?: number;
  error?: string;
}

/**
 * PageBytes measures the encoded size of one GET_STATE page, outside the timed calls: the page of
 * tasks from `tasksFrom` and, for tables, of agents from `agentsFrom` (`maxAgents` of them).
 */
export type PageBytes = (
  tasksFrom: number,
  maxTasks: number,
  tasksAs: TasksAs,
  agents?: { agentsFrom: number; maxAgents: number },
) => Promise<number>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * fetchState gets the whole state `calls` times, in pages of at most `pageTasks` tasks (a table
 * page may hold fewer: the master keeps each within a message): as tables through the SDK's
 * stateRows() (one page ahead, `pageAgents` agents a page), or as objects one page after the
 * other. `pageBytes`, when given, sizes the first call's pages once afterwards, as they were asked.
 */
export async function fetchState(
  op: Operator,
  calls: number,
  pageTasks: number,
  tasksAs: TasksAs = 'table',
  pageBytes?: PageBytes,
  pageAgents = DEFAULT_PAGE_AGENTS,
): Promise<Fetched> {
  const out: Fetched = { getStateMs: [], masterTasks: 0, pages: 0, pageMaxMs: 0 };
  const starts: number[] = [];
  for (let i = 0; i < calls; i++) {
    const s0 = performance.now();
    try {
      out.pages = 0;
      if (tasksAs === 'table') {
        // As the SDK reads it: every page a table, the next one asked for while this one is checked.
        const state = await op.stateRows({
          pageTasks,
          pageAgents,
          onPage: ({ from, ms }) => {
            out.pages++;
            out.pageMaxMs = Math.max(out.pageMaxMs, ms);
            if (i === 0) starts.push(from);
          },
        });
        out.getStateMs.push(performance.now() - s0);
        out.masterTasks = state.tasks.length;
        if (i === 0) {
          const m0 = performance.now();
          out.materializeMs =
            state.tasks.toArray().length === state.tasks.length ? performance.now() - m0 : undefined;
        }
      } else {
        // One message could not hold every task of a large cluster.
        let from: number | undefined = 0;
        let tasks = 0;
        while (from !== undefined) {
          const p0 = performance.now();
          const view: StateView = await op.call('GET_STATE', {
            tasksFrom: from,
            maxTasks: pageTasks,
            tasksAs,
          });
          out.pageMaxMs = Math.max(out.pageMaxMs, performance.now() - p0);
          out.pages++;
          tasks += view.tasks.length;
          if (i === 0) starts.push(from);
          from = view.nextTasksFrom;
        }
        out.getStateMs.push(performance.now() - s0);
        out.masterTasks = tasks;
      }
    } catch (err) {
      out.error = (err as Error).message.replace(/\s+/g, '_').slice(0, 80);
      break;
    }
    await sleep(200);
  }
  if (pageBytes && !out.error) {
    let bytes = 0;
    // Table pages bring agents from 0 in pages of pageAgents (none cut short: 2,000 agents are far below a page's cap).
    for (const [k, from] of starts.entries())
      bytes += await pageBytes(
        from,
        pageTasks,
        tasksAs,
        tasksAs === 'table' ? { agentsFrom: k * pageAgents, maxAgents: pageAgents } : undefined,
      );
    out.stateMb = bytes / 2 ** 20;
  }
  return out;
}
