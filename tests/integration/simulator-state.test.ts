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
} from '../../protocol/index.js';
import { testScope } from '../support/scope.js';

const scope = testScope();

describe('GET_STATE of a cluster of simulated agents', () => {
  it('pages its tasks: every task once, in the order of the whole answer, with the next page named', async () => {
    const nats = await scope.startNats();
    const subjects = makeSubjects(nats.prefix);
    await scope.startMaster(nats);
    const frameworks = [0, 1].map((i) =>
      FrameworkInfo.parse({ id: `paged-${i}`, name: 'paged', failoverTimeoutSeconds: 60 }),
    );
    // 10 agents that already run 5 tasks each (as after a master failover): 50 tasks.
    const sim = await startSimulator({
      bus: await nats.bus('sim'),
      subjects,
      agents: 10,
      resources: R.parseResources('cpus:4;mem:4096'),
      seed: (i) =>
        Array.from({ length: 5 }, (_, k) => ({
          framework: frameworks[(i + k) % 2],
          task: TaskInfo.parse({
            taskId: `p${i}-${k}`,
            name: 'p',
            resources: R.parseResources('cpus:0.1;mem:32'),
            command: { value: 'true' },
            labels: { [DURATION_LABEL]: 'forever' },
          }),
          state: TaskState.RUNNING,
        })),
    });
    scope.defer(() => sim.stop());
    await sim.whenRegistered();
    const op = await Operator.connect({ nats: await nats.bus('op'), prefix: subjects.prefix });
    const whole = await op.state();
    expect(whole.tasks).toHaveLength(50);
    expect(whole.nextTasksFrom).toBeUndefined();

    const pages: StateView[] = [];
    let from: number | undefined = 0;
    while (from !== undefined) {
      const page: StateView = await op.call('GET_STATE', { tasksFrom: from, maxTasks: 20 });
      pages.push(page);
      from = page.nextTasksFrom;
    }
    expect(pages.map((p) => p.tasks.length)).toEqual([20, 20, 10]);
    expect(pages.map((p) => p.nextTasksFrom)).toEqual([20, 40, undefined]);
    expect(pages.every((p) => p.totalTasks === 50)).toBe(true);
    // Agents and frameworks come with the first page only.
    expect(pages.map((p) => [p.agents.length, p.frameworks.length])).toEqual([
      [10, 2],
      [0, 0],
      [0, 0],
    ]);
    expect(pages.flatMap((p) => p.tasks.map((t) => t.taskId))).toEqual(whole.tasks.map((t) => t.taskId));
    // Past the end: no tasks, no next page.
    const after = await op.call('GET_STATE', { tasksFrom: 50, maxTasks: 20 });
    expect([after.tasks.length, after.nextTasksFrom]).toEqual([0, undefined]);
  });

  it('refuses a page size out of bounds', async () => {
    const nats = await scope.startNats();
    const subjects = makeSubjects(nats.prefix);
    await scope.startMaster(nats);
    const bus = await nats.bus('op');
    const op = await Operator.connect({ nats: bus, prefix: subjects.prefix });
    await expect(op.call('GET_STATE', { maxTasks: 0 })).rejects.toThrow();
    // A malformed call is refused by the master with BAD_REQUEST, not dropped.
    const raw = bus.request(
      subjects.operator(),
      z.any(),
      { type: 'GET_STATE', maxTasks: 1_000_000 },
      z.any(),
    );
    await expect(raw).rejects.toBeInstanceOf(RemoteError);
    await expect(raw).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
