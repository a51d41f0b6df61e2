import { describe, expect, it } from 'vitest';
import {
  authorizeOperatorCall,
  authorizeSchedulerCall,
  createCallGuard,
  filterViewable,
  type MasterSecurity,
  operatorChannel,
} from '../../actors/master/authorization.js';
import { OperatorCall, SchedulerCall } from '../../protocol/index.js';
import { DEFAULT_POLICY, directoryOf, type Principal } from '../../security/index.js';

const web: Principal = { kind: 'framework', name: 'web', frameworkIds: ['fw-web'], roles: ['web'] };
const viewer: Principal = { kind: 'operator', name: 'viewer', readonly: true, superuser: false };
const ops: Principal = { kind: 'operator', name: 'ops', readonly: false, superuser: false };
const sec: MasterSecurity = { directory: directoryOf([web, viewer, ops]), policy: DEFAULT_POLICY };

const task = (taskId: string, user?: string) => ({
  taskId,
  name: taskId,
  resources: [{ name: 'cpus', scalar: 0.1 }],
  command: { value: 'true', ...(user ? { user } : {}) },
});

describe('authorizeSchedulerCall', () => {
  it('refuses a SUBSCRIBE in a role the principal may not use, naming it', () => {
    const call = SchedulerCall.parse({
      type: 'SUBSCRIBE',
      framework: { id: 'fw-web', name: 'w', roles: ['web', 'ops'] },
    });
    expect(() => authorizeSchedulerCall(sec, 'fw-web', call, 0)).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN', message: expect.stringContaining('"ops"') }),
    );
  });

  it('records the principal from the credentials, whatever the FrameworkInfo claims', () => {
    const call = SchedulerCall.parse({
      type: 'SUBSCRIBE',
      framework: { id: 'fw-web', name: 'w', roles: ['web'], principal: 'ops' },
    });
    const out = authorizeSchedulerCall(sec, 'fw-web', call, 0).call;
    expect(out.type === 'SUBSCRIBE' && out.framework.principal).toBe('web');
  });

  it('takes tasks as a forbidden user out of an ACCEPT and answers each with TASK_ERROR', () => {
    const call = SchedulerCall.parse({
      type: 'ACCEPT',
      offerIds: ['o-1'],
      operations: [
        { type: 'LAUNCH', tasks: [task('ok'), task('root', 'root')] },
        { type: 'LAUNCH', tasks: [task('also-root', 'root')] },
      ],
    });
    const { call: out, refused } = authorizeSchedulerCall(sec, 'fw-web', call, 42);
    expect(out.type === 'ACCEPT' && out.operations).toEqual([
      { type: 'LAUNCH', tasks: [expect.objectContaining({ taskId: 'ok' })] },
    ]);
    expect(refused.map((s) => [s.taskId, s.state, s.reason, s.source, s.timestamp])).toEqual([
      ['root', 'TASK_ERROR', 'REASON_TASK_UNAUTHORIZED', 'SOURCE_MASTER', 42],
      ['also-root', 'TASK_ERROR', 'REASON_TASK_UNAUTHORIZED', 'SOURCE_MASTER', 42],
    ]);
    expect(refused[0].message).toMatch(/may not RUN_TASK on "root"/);
  });

  it('refuses a RESERVE for a role the principal may not use', () => {
    const call = SchedulerCall.parse({
      type: 'ACCEPT',
      offerIds: ['o-1'],
      operations: [{ type: 'RESERVE', resources: [{ name: 'cpus', scalar: 1, role: 'ops' }] }],
    });
    expect(() => authorizeSchedulerCall(sec, 'fw-web', call, 0)).toThrow(/RESERVE_RESOURCES on "ops"/);
  });

  it('refuses a framework id no principal is bound to when there is no superuser', () => {
    expect(() => authorizeSchedulerCall(sec, 'fw-other', { type: 'HEARTBEAT' }, 0)).toThrow(
      /no principal may use framework id fw-other/,
    );
  });
});

describe('authorizeOperatorCall', () => {
  const get = OperatorCall.parse({ type: 'GET_STATE' });
  const teardown = OperatorCall.parse({ type: 'TEARDOWN', frameworkId: 'fw-web' });

  it('refuses the legacy subject on a secured master, and unknown principals', () => {
    expect(() => authorizeOperatorCall(sec, 'legacy', get)).toThrow(/own operator subject/);
    expect(() => authorizeOperatorCall(sec, { principal: 'ghost', write: false }, get)).toThrow(
      /ghost is unknown/,
    );
  });

  it('refuses a write on a read subject, and lets reads through on either', () => {
    expect(() => authorizeOperatorCall(sec, { principal: 'ops', write: false }, teardown)).toThrow(
      /TEARDOWN changes the cluster/,
    );
    expect(authorizeOperatorCall(sec, { principal: 'viewer', write: false }, get)).toBe(viewer);
    expect(authorizeOperatorCall(sec, { principal: 'ops', write: true }, teardown)).toBe(ops);
  });
});

describe('filterViewable', () => {
  it('drops the frameworks and tasks the caller may not view and leaves the rest', () => {
    const result = {
      frameworks: [{ id: 'fw-web' }, { id: 'fw-x' }],
      tasks: [{ frameworkId: 'fw-web' }, { frameworkId: 'fw-x' }],
      agents: [{ id: 'a-1' }],
    };
    // web may view only itself; fw-x is bound to no one, so its principal is "".
    expect(filterViewable(sec, web, result)).toEqual({
      frameworks: [{ id: 'fw-web' }],
      tasks: [{ frameworkId: 'fw-web' }],
      agents: [{ id: 'a-1' }],
    });
    expect(filterViewable(sec, viewer, result)).toEqual(result);
  });

  it('filters the containers of GET_CONTAINERS the same way', () => {
    const result = { containers: [{ frameworkId: 'fw-web' }, { frameworkId: 'fw-x' }], unanswered: [] };
    expect(filterViewable(sec, web, result)).toEqual({
      containers: [{ frameworkId: 'fw-web' }],
      unanswered: [],
    });
  });
});

describe('createCallGuard without security (a test cluster)', () => {
  const guard = createCallGuard(undefined, undefined, 'p.master.operator');
  it('still refuses writes on a read subject', () => {
    expect(() =>
      guard.operator(
        'p.master.operator.x.read',
        OperatorCall.parse({ type: 'MARK_AGENT_GONE', agentId: 'a' }),
      ),
    ).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(
      guard.operator('p.master.operator', OperatorCall.parse({ type: 'MARK_AGENT_GONE', agentId: 'a' })),
    ).toBe(undefined);
  });

  it('reads the principal and channel from an operator subject', () => {
    expect(operatorChannel('p.master.operator.viewer.read', 'p.master.operator')).toEqual({
      principal: 'viewer',
      write: false,
    });
    expect(operatorChannel('p.master.operator', 'p.master.operator')).toBe('legacy');
  });
});
