import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DURATION_LABEL, startSimulator } from '../../actors/simulator/index.js';
import { RemoteError } from '../../bus/index.js';
import { Operator } from '../../frameworks/sdk/index.js';
import {
  FrameworkInfo,
  subjects as makeSubjects,
  resources as R,
  type StateView,
  TaskInfo,
  TaskState,
  type TaskView,
} from '../../protocol/index.js';
import { testScope } from '../support/scope.js';

const scope = testScope();

/** cluster starts a master and 12 simulated agents with 4 running and 2 finished tasks each, of 3 frameworks. */
async function cluster() {
  const nats = await scope.startNats();
  const subjects = makeSubjects(nats.prefix);
  await scope.startMaster(nats);
  const frameworks = [0, 1, 2].map((i) =>
    FrameworkInfo.parse({ id: `tabled-${i}`, name: 'tabled', failoverTimeoutSeconds: 60 }),
  );
  const sim = await startSimulator({
    bus: await nats.bus('sim'),
    subjects,
    agents: 12,
    resources: R.parseResources('cpus:4;mem:4096'),
    // Unacknowledged finished tasks are not resent while the test reads the state.
    statusRetryMs: 600_000,
    seed: (i) =>
      Array.from({ length: 6 }, (_, k) => ({
        framework: frameworks[(i + k) % 3],
        task: TaskInfo.parse({
          taskId: `tt${i}-${k}`,
          name: k % 2 ? 'odd' : 'even',
          resources: R.parseResources(k === 3 ? 'cpus:0.5;mem:64' : 'cpus:0.1;mem:32'),
          command: k === 1 ? { shell: false, argv: ['/bin/sleep', `${i}`] } : { value: 'true' },
          labels: { [DURATION_LABEL]: 'forever' },
        }),
        state: k < 4 ? TaskState.RUNNING : TaskState.FINISHED,
      })),
  });
  scope.defer(() => sim.stop());
  await sim.whenRegistered();
  const op = await Operator.connect({ nats: await nats.bus('op'), prefix: subjects.prefix });
  // Every agent's tasks are in before the views are compared.
  await expect.poll(async () => (await op.call('GET_STATE')).tasks.length, { timeout: 20_000 }).toBe(72);
  return { op, subjects, bus: await nats.bus('raw') };
}

describe('GET_STATE and GET_TASKS as a task table', () => {
  it('answers the same rows as TaskView objects, page by page, with the same paging', async () => {
    const { op } = await cluster();
    const whole = await op.call('GET_STATE');
    expect(whole.tasks.some((t) => t.state === TaskState.FINISHED)).toBe(true);
    expect(new Set(whole.tasks.map((t) => t.command))).toEqual(
      new Set(['true', ...Array.from({ length: 12 }, (_, i) => `/bin/sleep ${i}`)]),
    );

    const tablePages: StateView[] = [];
    const objectPages: StateView[] = [];
    for (const [pages, tasksAs] of [
      [tablePages, 'table'],
      [objectPages, 'objects'],
    ] as const) {
      let from: number | undefined = 0;
      while (from !== undefined) {
        const page: StateView = await op.call('GET_STATE', { tasksFrom: from, maxTasks: 25, tasksAs });
        pages.push(page);
        from = page.nextTasksFrom;
      }
    }
    expect(tablePages.map((p) => [p.nextTasksFrom, p.totalTasks])).toEqual([
      [25, 72],
      [50, 72],
      [undefined, 72],
    ]);
    expect(tablePages.map((p) => p.nextTasksFrom)).toEqual(objectPages.map((p) => p.nextTasksFrom));
    // A table page carries its tasks in the table only; agents and frameworks come with the first.
    expect(
      tablePages.map((p) => [p.tasks.length, p.taskTable?.length, p.agents.length, p.frameworks.length]),
    ).toEqual([
      [0, 25, 12, 3],
      [0, 25, 0, 0],
      [0, 22, 0, 0],
    ]);
    // The agents as a table, with the first page only.
    const withAgents = await op.call('GET_STATE', { maxTasks: 5, tasksAs: 'table', agentsAs: 'table' });
    expect(withAgents.agents).toEqual([]);
    expect(withAgents.agentTable?.toArray()).toEqual(whole.agents);
    const later = await op.call('GET_STATE', {
      tasksFrom: 5,
      maxTasks: 5,
      tasksAs: 'table',
      agentsAs: 'table',
    });
    expect([later.agentTable, later.agents]).toEqual([undefined, []]);
    const rows = tablePages.flatMap((p) => p.taskTable?.toArray() ?? []);
    expect(rows).toEqual(objectPages.flatMap((p) => p.tasks));
    expect(rows).toEqual(whole.tasks);
  });

  it('gives SDK callers the whole state and one framework tasks from tables, as rows or objects', async () => {
    const { op } = await cluster();
    const whole = await op.call('GET_STATE');
    const pageSizes: number[] = [];
    const state = await op.stateRows({ pageTasks: 10, onPage: (p) => pageSizes.push(p.rows) });
    expect(pageSizes).toEqual([10, 10, 10, 10, 10, 10, 10, 2]);
    expect(state.tasks.length).toBe(72);
    expect([state.agents.length, state.frameworks.length, state.totalTasks]).toEqual([12, 3, 72]);
    expect(state.agents).toEqual(whole.agents);
    expect(state.tasks.toArray()).toEqual(whole.tasks);
    expect([...state.tasks].map((t) => t.taskId)).toEqual(whole.tasks.map((t) => t.taskId));
    expect(Array.from({ length: 72 }, (_, i) => state.tasks.state(i))).toEqual(
      whole.tasks.map((t) => t.state),
    );
    expect(state.tasks.at(71)).toEqual(whole.tasks[71]);
    expect(() => state.tasks.at(72)).toThrow(RangeError);
    // Agents a page at a time: with the pages of tasks, then alone once the tasks are read.
    for (const pageAgents of [5, 1]) {
      const paged = await op.stateRows({ pageTasks: 30, pageAgents });
      expect(paged.agents.map((a) => a.id)).toEqual(whole.agents.map((a) => a.id));
      expect(paged.tasks.toArray()).toEqual(whole.tasks);
    }
    expect((await op.state()).tasks).toEqual(whole.tasks);

    const ofOne = (tasks: TaskView[]) => tasks.filter((t) => t.frameworkId === 'tabled-1');
    const objects = await op.call('GET_TASKS', { frameworkId: 'tabled-1' });
    expect(objects.tasks).toEqual(ofOne(whole.tasks));
    expect((await op.taskRows('tabled-1', { pageTasks: 7 })).toArray()).toEqual(objects.tasks);
    expect(await op.tasks('tabled-1')).toEqual(objects.tasks);
    expect(await op.tasks()).toEqual(whole.tasks);
  });

  it('refuses an unknown task shape and out-of-bounds pages with BAD_REQUEST, and an unknown framework', async () => {
    const { op, subjects, bus } = await cluster();
    for (const call of [
      { type: 'GET_STATE', tasksAs: 'columns' },
      { type: 'GET_STATE', tasksAs: 7 },
      { type: 'GET_STATE', agentsAs: 'rows' },
      { type: 'GET_STATE', tasksAs: 'table', maxAgents: 5 },
      { type: 'GET_STATE', agentsAs: 'table', maxAgents: 0 },
      { type: 'GET_TASKS', tasksAs: 'table', maxTasks: 0 },
      { type: 'GET_TASKS', tasksAs: 'table', tasksFrom: -1 },
      { type: 'GET_TASKS', maxTasks: 1_000_000 },
    ]) {
      const raw = bus.request(subjects.operator(), z.any(), call, z.any());
      await expect(raw, JSON.stringify(call)).rejects.toBeInstanceOf(RemoteError);
      await expect(raw).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
    await expect(op.taskRows('no-such-framework')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Nothing changed: the state is still whole.
    expect((await op.stateRows()).tasks.length).toBe(72);
  });
});
