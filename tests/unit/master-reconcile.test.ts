import { describe, expect, it } from 'vitest';
import { reconcile } from '../../actors/master/reconcile.js';
import type { AgentStatus, TaskStatus } from '../../protocol/index.js';

const running: TaskStatus = {
  taskId: 'known',
  state: 'TASK_RUNNING',
  source: 'SOURCE_EXECUTOR',
  uuid: 'u1',
  agentId: 'a1',
  timestamp: 1,
};
const agents: Record<string, AgentStatus> = { active: 'ACTIVE', away: 'UNREACHABLE', gone: 'REMOVED' };
const input = (partitionAware: boolean) => ({
  known: new Map([['known', running]]),
  agentStatus: (id: string) => agents[id],
  partitionAware,
  now: 5,
});

describe('reconciliation', () => {
  it.each([
    ['known', undefined, 'TASK_RUNNING', 'TASK_RUNNING'],
    ['t', 'active', 'TASK_GONE', 'TASK_LOST'],
    ['t', 'away', 'TASK_UNREACHABLE', 'TASK_LOST'],
    ['t', 'gone', 'TASK_GONE_BY_OPERATOR', 'TASK_LOST'],
    ['t', 'never-seen', 'TASK_UNKNOWN', 'TASK_LOST'],
    ['t', undefined, 'TASK_UNKNOWN', 'TASK_LOST'],
  ])('answers task %s on agent %s with %s (partition aware) or %s', (taskId, agentId, aware, plain) => {
    expect(reconcile(input(true), [{ taskId, agentId }])[0].state).toBe(aware);
    expect(reconcile(input(false), [{ taskId, agentId }])[0].state).toBe(plain);
  });

  it('marks answers with REASON_RECONCILIATION and no uuid', () => {
    const [s] = reconcile(input(true), [{ taskId: 'known' }]);
    expect(s).toMatchObject({ reason: 'REASON_RECONCILIATION', source: 'SOURCE_MASTER', timestamp: 5 });
    expect(s.uuid).toBeUndefined();
  });

  it('answers an empty list with every known task', () => {
    expect(reconcile(input(false), []).map((s) => s.taskId)).toEqual(['known']);
  });
});
