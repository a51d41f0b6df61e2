import { describe, expect, it } from 'vitest';
import type { FrameworkRecord, TaskRecord } from '../../actors/master/state.js';
import { TaskMap } from '../../actors/master/task-map.js';
import { forEachTask, taskTablePage } from '../../actors/master/task-table.js';
import { taskView } from '../../actors/master/views.js';
import { FakeBus, Operator } from '../../frameworks/sdk/index.js';
import { subjects as makeSubjects, resources as R, TaskInfo, TaskState } from '../../protocol/index.js';

function framework(id: string, tasks: number): FrameworkRecord {
  const records = Array.from({ length: tasks }, (_, i): [string, TaskRecord] => {
    const taskId = `${id}-${i}`;
    return [
      taskId,
      {
        frameworkId: id,
        agentId: `a-${i % 7}`,
        role: '*',
        info: TaskInfo.parse({
          taskId,
          name: 'n',
          resources: R.parseResources('cpus:0.1'),
          command: { value: `run ${'x'.repeat(i % 50)}` },
        }),
        status: { taskId, state: TaskState.RUNNING, source: 'SOURCE_AGENT', timestamp: i },
      },
    ];
  });
  return { completed: [], tasks: new TaskMap(records) } as unknown as FrameworkRecord;
}

/** fakeMaster answers GET_TASKS from `frameworks` as the master does, with pages of at most `maxBytes`. */
function fakeMaster(frameworks: FrameworkRecord[], maxBytes: number): Operator {
  return fakeMasterBus(frameworks, maxBytes).operator;
}

function fakeMasterBus(
  frameworks: FrameworkRecord[],
  maxBytes: number,
): { operator: Operator; bus: FakeBus } {
  const bus = new FakeBus((_subject, call) => {
    const { tasksFrom = 0, maxTasks = 1000 } = call as { tasksFrom?: number; maxTasks?: number };
    const page = taskTablePage(frameworks, tasksFrom, { maxRows: maxTasks, maxBytes });
    return {
      tasks: [],
      taskTable: page.table,
      totalTasks: page.totalTasks,
      nextTasksFrom: page.nextTasksFrom,
    };
  });
  return { operator: new Operator(bus, makeSubjects('t.v1')), bus };
}

describe('the SDK reading task tables page by page, one page ahead', () => {
  const frameworks = [framework('f1', 130), framework('f2', 75)];
  const all: TaskRecord[] = [];
  forEachTask(frameworks, 0, (t) => all.push(t) > 0);

  it('reads every task once, in order, when every page is full', async () => {
    const pages: { from: number; rows: number }[] = [];
    const rows = await fakeMaster(frameworks, 1e9).taskRows(undefined, {
      pageTasks: 50,
      onPage: ({ from, rows }) => pages.push({ from, rows }),
    });
    expect(rows.toArray()).toEqual(all.map(taskView));
    expect(pages).toEqual([
      { from: 0, rows: 50 },
      { from: 50, rows: 50 },
      { from: 100, rows: 50 },
      { from: 150, rows: 50 },
      { from: 200, rows: 5 },
    ]);
  });

  it('asks again from where the master says when it cut a page short, and keeps no guessed page', async () => {
    const pages: { from: number; rows: number }[] = [];
    const rows = await fakeMaster(frameworks, 2000).taskRows(undefined, {
      pageTasks: 50,
      onPage: ({ from, rows }) => pages.push({ from, rows }),
    });
    expect(rows.toArray()).toEqual(all.map(taskView));
    // Pages were cut by bytes, so each next page starts where the last one ended.
    expect(pages.length).toBeGreaterThan(5);
    expect(pages.every((p) => p.rows < 50)).toBe(true);
    for (let i = 1; i < pages.length; i++) expect(pages[i].from).toBe(pages[i - 1].from + pages[i - 1].rows);
  });

  it('asks for no page past the last one: one request for a state of one page, one a page otherwise', async () => {
    const asked = async (pageTasks: number) => {
      const { operator, bus } = fakeMasterBus(frameworks, 1e9);
      const rows = await operator.taskRows(undefined, { pageTasks });
      expect(rows.toArray()).toEqual(all.map(taskView));
      return bus.requests.map((r) => (r.call as { tasksFrom: number }).tasksFrom);
    };
    expect(await asked(1000)).toEqual([0]);
    expect(await asked(205)).toEqual([0]);
    expect((await asked(50)).sort((a, b) => a - b)).toEqual([0, 50, 100, 150, 200]);
  });
});
