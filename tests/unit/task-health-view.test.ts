import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../actors/master/state.js';
import { taskView } from '../../actors/master/views.js';
import { healthOf, tasksTable } from '../../cli/format.js';
import { resources as R, type TaskStatus } from '../../protocol/index.js';

function record(status: Partial<TaskStatus>, healthy?: boolean): TaskRecord {
  return {
    frameworkId: 'f1',
    agentId: 'a1',
    role: '*',
    info: {
      taskId: 't1',
      name: 't1',
      resources: R.parseResources('cpus:0.1;mem:32'),
      command: { shell: true, value: 'sleep 60', env: {} },
    },
    status: { taskId: 't1', state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', timestamp: 0, ...status },
    healthy,
  };
}

describe("a task's health as operators see it", () => {
  it('shows the verdict the master kept, even when the latest update carries none (TASK_KILLING)', () => {
    expect(taskView(record({ state: 'TASK_KILLING' }, false)).healthy).toBe(false);
    expect(taskView(record({ healthy: true }, true)).healthy).toBe(true);
  });

  it('shows the latest status verdict for a record built without one, and nothing for a task without checks', () => {
    expect(taskView(record({ healthy: false })).healthy).toBe(false);
    expect(taskView(record({})).healthy).toBeUndefined();
  });

  it('puts a HEALTH column in mezzo tasks: healthy, unhealthy, or a dash', () => {
    expect([healthOf({ healthy: true }), healthOf({ healthy: false }), healthOf({})]).toEqual([
      'healthy',
      'unhealthy',
      '-',
    ]);
    const out = tasksTable([taskView(record({}, false)), { ...taskView(record({})), taskId: 't2' }], 0);
    const [head, ...rows] = out.split('\n').filter((l) => /t1|t2|ID/.test(l));
    expect(head).toMatch(/STATE\s+│?\s*HEALTH/);
    expect(rows.find((r) => r.includes('t1'))).toMatch(/TASK_RUNNING\s+│?\s*unhealthy/);
    expect(rows.find((r) => r.includes('t2'))).toMatch(/TASK_RUNNING\s+│?\s*-\s/);
  });
});
