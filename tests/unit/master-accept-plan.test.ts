import { describe, expect, it } from 'vitest';
import { type AcceptInput, planAccept } from '../../actors/master/accept-plan.js';
import { resources as R, type TaskInfo } from '../../protocol/index.js';

const task = (taskId: string, res: string, extra: Partial<TaskInfo> = {}): TaskInfo => ({
  taskId,
  name: taskId,
  resources: R.parseResources(res),
  command: { shell: true, value: 'true', env: {} },
  ...extra,
});

const input = (over: Partial<AcceptInput>): AcceptInput => ({
  frameworkId: 'f1',
  partitionAware: false,
  offers: new Map([
    [
      'o1',
      {
        frameworkId: 'f1',
        agentId: 'a1',
        role: '*',
        resources: R.parseResources('cpus:2;mem:1024;ports:[31000-31010]'),
      },
    ],
    ['o2', { frameworkId: 'f1', agentId: 'a1', role: '*', resources: R.parseResources('cpus:1;mem:512') }],
    ['o3', { frameworkId: 'f1', agentId: 'a2', role: '*', resources: R.parseResources('cpus:1;mem:512') }],
    ['eng', { frameworkId: 'f1', agentId: 'a1', role: 'eng', resources: R.parseResources('cpus:1;mem:512') }],
    ['other', { frameworkId: 'f2', agentId: 'a1', role: '*', resources: R.parseResources('cpus:1;mem:512') }],
  ]),
  agentActive: () => true,
  activeTaskIds: new Set(['running']),
  offerIds: ['o1'],
  operations: [],
  now: 1000,
  ...over,
});

describe('ACCEPT validation', () => {
  it('launches tasks that fit, in order, and returns what they left unused', () => {
    const plan = planAccept(
      input({
        operations: [
          {
            type: 'LAUNCH',
            tasks: [task('t1', 'cpus:1;mem:512'), task('t2', 'cpus:0.5;mem:256;ports:[31000-31000]')],
          },
        ],
      }),
    );
    expect(plan.rejected).toEqual([]);
    expect(plan.launches.map((l) => [l.task.taskId, l.task.agentId])).toEqual([
      ['t1', 'a1'],
      ['t2', 'a1'],
    ]);
    // 2 - 1 - .5 = .5 cpus; 1024 - 512 - 256 = 256 mem; ports minus 31000
    expect(plan.unused).toEqual(R.parseResources('cpus:0.5;mem:256;ports:[31001-31010]'));
  });

  it('pools several offers of one agent', () => {
    const plan = planAccept(
      input({
        offerIds: ['o1', 'o2'],
        operations: [{ type: 'LAUNCH', tasks: [task('t', 'cpus:3;mem:1536')] }],
      }),
    );
    expect(plan.launches).toHaveLength(1);
    expect(R.isEmpty(plan.unused.filter((r) => r.name !== 'ports'))).toBe(true);
  });

  it('gives TASK_ERROR to a task that does not fit, a reused id and a task without cpus or mem', () => {
    const plan = planAccept(
      input({
        operations: [
          {
            type: 'LAUNCH',
            tasks: [
              task('big', 'cpus:3'),
              task('running', 'cpus:0.1'),
              task('dup', 'cpus:0.1'),
              task('dup', 'cpus:0.1'),
              task('empty', 'disk:1'),
            ],
          },
        ],
      }),
    );
    expect(plan.launches.map((l) => l.task.taskId)).toEqual(['dup']);
    expect(plan.rejected.map((s) => [s.taskId, s.state, s.reason])).toEqual([
      ['big', 'TASK_ERROR', 'REASON_TASK_INVALID'],
      ['running', 'TASK_ERROR', 'REASON_TASK_INVALID'],
      ['dup', 'TASK_ERROR', 'REASON_TASK_INVALID'],
      ['empty', 'TASK_ERROR', 'REASON_TASK_INVALID'],
    ]);
    expect(plan.rejected[0].message).toContain('do not fit');
    expect(plan.rejected[0].source).toBe('SOURCE_MASTER');
    expect(plan.rejected[0].uuid).toBeUndefined();
  });

  it.each([
    [['gone'], 'no longer valid'],
    [['other'], 'belongs to another framework'],
    [['o1', 'o3'], 'same agent'],
    [['o1', 'o1'], 'named twice'],
    [['o1', 'eng'], 'same role'],
  ])('drops every task when the offers %j are invalid (%s)', (offerIds, why) => {
    const plan = planAccept(
      input({ offerIds, operations: [{ type: 'LAUNCH', tasks: [task('t', 'cpus:0.1')] }] }),
    );
    expect(plan.launches).toEqual([]);
    expect(plan.rejected).toMatchObject([
      { taskId: 't', state: 'TASK_LOST', reason: 'REASON_INVALID_OFFERS' },
    ]);
    expect(plan.rejected[0].message).toContain(why);
  });

  it('reports TASK_DROPPED rather than TASK_LOST to partition-aware frameworks', () => {
    const plan = planAccept(
      input({
        partitionAware: true,
        offerIds: ['gone'],
        operations: [{ type: 'LAUNCH', tasks: [task('t', 'cpus:0.1')] }],
      }),
    );
    expect(plan.rejected[0].state).toBe('TASK_DROPPED');
  });

  it('refuses offers of an agent that is no longer active', () => {
    const plan = planAccept(
      input({ agentActive: () => false, operations: [{ type: 'LAUNCH', tasks: [task('t', 'cpus:0.1')] }] }),
    );
    expect(plan.rejected[0].message).toContain('not active');
  });

  it("reserves unreserved resources for the offers' role and lets a later LAUNCH use them", () => {
    const plan = planAccept(
      input({
        offerIds: ['eng'],
        operations: [
          { type: 'RESERVE', resources: R.parseResources('cpus(eng):1;mem(eng):256') },
          { type: 'LAUNCH', tasks: [task('t', 'cpus(eng):1;mem(eng):256')] },
        ],
      }),
    );
    expect(plan.operationError).toBeUndefined();
    expect(plan.role).toBe('eng');
    expect(plan.steps.map((s) => s.type)).toEqual(['RESERVE', 'LAUNCH']);
    expect(plan.launches[0].resources).toEqual(R.parseResources('cpus(eng):1;mem(eng):256'));
    // mem 512 - 256 reserved and launched = 256 unreserved left
    expect(plan.unused).toEqual(R.parseResources('mem:256'));
  });

  it('unreserves reserved resources back to * within the offers', () => {
    const plan = planAccept(
      input({
        offers: new Map([
          [
            'r',
            { frameworkId: 'f1', agentId: 'a1', role: 'eng', resources: R.parseResources('cpus(eng):2') },
          ],
        ]),
        offerIds: ['r'],
        operations: [{ type: 'UNRESERVE', resources: R.parseResources('cpus(eng):2') }],
      }),
    );
    expect(plan.operationError).toBeUndefined();
    expect(plan.unused).toEqual(R.parseResources('cpus:2'));
  });

  it.each([
    ['RESERVE' as const, 'cpus(eng):5', 'cannot RESERVE'],
    ['RESERVE' as const, 'cpus(ads):1', 'names role ads'],
    ['RESERVE' as const, 'cpus:1', 'names no role'],
    ['UNRESERVE' as const, 'cpus(eng):1', 'cannot UNRESERVE'],
    ['UNRESERVE' as const, 'cpus:1', 'not reserved'],
  ])('refuses the whole ACCEPT when %s %s cannot apply (%s)', (type, res, why) => {
    const plan = planAccept(
      input({
        offerIds: ['eng'],
        operations: [
          { type, resources: R.parseResources(res) },
          { type: 'LAUNCH', tasks: [task('t', 'cpus:0.1')] },
        ],
      }),
    );
    expect(plan.operationError).toContain(why);
    expect(plan.launches).toEqual([]);
    expect(plan.usedOfferIds).toEqual([]);
  });
});
