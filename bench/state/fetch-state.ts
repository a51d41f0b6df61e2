import { encode } from '../../bus/index.js';
import type { Operator } from '../../frameworks/sdk/index.js';
import type { StateView } from '../../protocol/index.js';

/** Fetched is what timing GET_STATE `calls` times, page by page, measured. */
export interface Fetched {
  getStateMs: number[];
  stateMb?: number;
  masterTasks: number;
  pages: number;
  pageMaxMs: number;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** fetchState gets the whole state `calls` times, one page of `pageTasks` tasks at a time. */
export async function fetchState(op: Operator, calls: number, pageTasks: number): Promise<Fetched> {
  const out: Fetched = { getStateMs: [], masterTasks: 0, pages: 0, pageMaxMs: 0 };
  for (let i = 0; i < calls; i++) {
    const s0 = performance.now();
    try {
      // One message could not hold every task of a large cluster.
      let from: number | undefined = 0;
      let bytes = 0;
      let tasks = 0;
      out.pages = 0;
      while (from !== undefined) {
        const p0 = performance.now();
        const view: StateView = await op.call('GET_STATE', { tasksFrom: from, maxTasks: pageTasks });
        out.pageMaxMs = Math.max(out.pageMaxMs, performance.now() - p0);
        out.pages++;
        tasks += view.tasks.length;
        if (i === 0) bytes += encode(view).byteLength;
        from = view.nextTasksFrom;
      }
      out.getStateMs.push(performance.now() - s0);
      out.masterTasks = tasks;
      if (i === 0) out.stateMb = bytes / 2 ** 20;
    } catch (err) {
      out.error = (err as Error).message.replace(/\s+/g, '_').slice(0, 80);
      break;
    }
    await sleep(200);
  }
  return out;
}
