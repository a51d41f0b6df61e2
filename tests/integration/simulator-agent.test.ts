import { describe, expect, it } from 'vitest';
import { acknowledge, dueRetries, onControl, registration, SimPhase } from '../../actors/simulator/index.js';
import { FrameworkInfo, resources as R, TaskInfo, TaskState } from '../../protocol/index.js';
import { registeredSimAgent } from '../support/sim.js';

// The simulated agent's decisions are pure: no bus here, time passed by hand.
const agent = registeredSimAgent;
const framework = FrameworkInfo.parse({ id: 'f1', name: 'f' });
const task = (id: string, labels?: Record<string, string>) =>
  TaskInfo.required({ agentId: true }).parse({
    taskId: id,
    name: 't',
    agentId: 'a1',
    resources: R.parseResources('cpus:1;mem:32'),
    command: { value: 'true' },
    ...(labels ? { labels } : {}),
  });
let seq = 0;
const ctx = (now: number) => ({ now, uuid: () => `u${++seq}` });

describe('a simulated agent', () => {
  it('sends RUNNING at once and holds FINISHED until RUNNING is acknowledged (one update in flight per task)', () => {
    const a = agent();
    const ends: number[] = [];
    const r = onControl(a, { type: 'RUN_TASK', framework, task: task('t1') }, 100, ctx(0), (_, at) =>
      ends.push(at),
    );
    expect(r.send.map((u) => u.status.state)).toEqual([TaskState.RUNNING]);
    expect(ends).toEqual([100]);
    const t = a.tasks.get('f1/t1');
    if (!t) throw new Error('task not held');
    // The task ends before RUNNING is acknowledged: FINISHED waits behind it.
    const finished = onControl(
      a,
      { type: 'KILL_TASK', frameworkId: 'f1', taskId: 't1' },
      100,
      ctx(50),
      () => {},
    );
    expect(finished.send).toEqual([]);
    const ack = acknowledge(a, 'f1', 't1', r.send[0].status.uuid, 60);
    expect(ack.next?.status.state).toBe(TaskState.KILLED);
    // Once the terminal update is acknowledged the agent forgets the task.
    acknowledge(a, 'f1', 't1', ack.next?.status.uuid as string, 70);
    expect(a.tasks.size).toBe(0);
  });

  it('resends an unacknowledged update after retryMs, then twice as long each time, up to the cap', () => {
    const a = agent();
    onControl(a, { type: 'RUN_TASK', framework, task: task('t1') }, 1_000_000, ctx(0), () => {});
    const resentAt: number[] = [];
    for (let now = 0; now <= 80_000; now += 500) {
      if (dueRetries(a, now, 5_000, 20_000).length) resentAt.push(now);
    }
    // waits: 5 s, 10 s, 20 s, then the 20 s cap
    expect(resentAt).toEqual([5_000, 15_000, 35_000, 55_000, 75_000]);
  });

  it('reports its running tasks and their frameworks when it registers again, and ignores RUN_TASK while registering', () => {
    const a = agent();
    onControl(a, { type: 'RUN_TASKS', framework, tasks: [task('t1'), task('t2')] }, 1_000, ctx(0), () => {});
    const again = onControl(a, { type: 'REREGISTER' }, 1_000, ctx(1), () => {});
    expect(again.reregister).toBe(true);
    expect(a.phase).toBe(SimPhase.REGISTERING);
    const body = registration(a);
    expect(body.tasks.map((t) => [t.task.taskId, t.status.state])).toEqual([
      ['t1', TaskState.RUNNING],
      ['t2', TaskState.RUNNING],
    ]);
    expect(body.frameworks.map((f) => f.id)).toEqual(['f1']);
    const ignored = onControl(a, { type: 'RUN_TASK', framework, task: task('t3') }, 1_000, ctx(2), () => {});
    expect(ignored.launched).toEqual([]);
  });
});
