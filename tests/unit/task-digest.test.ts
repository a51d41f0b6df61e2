import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  type DigestedTask,
  resources as R,
  sameDigest,
  TaskDigest,
  TaskInfo,
  taskDigest,
  taskInfoHash,
} from '../../protocol/index.js';

const t = (taskId: string, over: Partial<DigestedTask['status']> = {}, info: object = {}): DigestedTask => ({
  frameworkId: 'f1',
  task: TaskInfo.parse({
    taskId,
    name: taskId,
    agentId: 'a1',
    resources: R.parseResources('cpus:1;mem:64'),
    command: { value: 'sleep 1d', env: { A: '1', B: '2' } },
    ...info,
  }),
  status: {
    taskId,
    agentId: 'a1',
    state: 'TASK_RUNNING',
    source: 'SOURCE_EXECUTOR',
    uuid: `u-${taskId}`,
    timestamp: 1000,
    ...over,
  },
});

describe('task digests', () => {
  it('summarizes a set of tasks whatever their order', () => {
    const tasks = Array.from({ length: 50 }, (_, i) => t(`t${i}`));
    const d = taskDigest(tasks);
    expect(TaskDigest.parse(d)).toEqual(d);
    expect(d.count).toBe(50);
    expect(sameDigest(taskDigest([...tasks].reverse()), d)).toBe(true);
    expect(taskDigest([])).toEqual({ count: 0, hash: '0000000000000000' });
  });

  it('changes with every field a REGISTER reports of a task', () => {
    const base = taskDigest([t('t1'), t('t2')]);
    const changed: [string, DigestedTask][] = [
      ['framework', { ...t('t1'), frameworkId: 'f2' }],
      ['task id', t('t3')],
      ['state', t('t1', { state: 'TASK_STARTING' })],
      ['status uuid', t('t1', { uuid: 'other' })],
      ['status time', t('t1', { timestamp: 1001 })],
      ['resources', t('t1', {}, { resources: R.parseResources('cpus:2;mem:64') })],
      ['command', t('t1', {}, { command: { value: 'sleep 2d' } })],
      ['labels', t('t1', {}, { labels: { a: 'b' } })],
    ];
    for (const [what, task] of changed)
      expect(sameDigest(taskDigest([task, t('t2')]), base), what).toBe(false);
    // A task swapped for another with the same count still differs.
    expect(sameDigest(taskDigest([t('t1'), t('t9')]), base)).toBe(false);
  });

  it('hashes a task info by its content, not the order its keys were built in', () => {
    const a = {
      taskId: 'x',
      name: 'n',
      resources: [{ name: 'cpus', scalar: 1 }],
      command: { shell: true, value: 'v', env: { A: '1', B: '2' } },
    };
    const b = {
      command: { env: { B: '2', A: '1' }, value: 'v', shell: true },
      resources: [{ scalar: 1, name: 'cpus' }],
      name: 'n',
      taskId: 'x',
    };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(taskInfoHash(a as TaskInfo)).toBe(taskInfoHash(b as TaskInfo));
    // Arrays keep their order: it is part of the value.
    expect(canonicalJson({ argv: ['a', 'b'] })).not.toBe(canonicalJson({ argv: ['b', 'a'] }));
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it('rejects a malformed digest on the wire', () => {
    expect(TaskDigest.safeParse({ count: 1, hash: 'xyz' }).success).toBe(false);
    expect(TaskDigest.safeParse({ count: -1, hash: '0123456789abcdef' }).success).toBe(false);
    expect(TaskDigest.safeParse({ count: 1, hash: '0123456789ABCDEF' }).success).toBe(false);
  });
});
