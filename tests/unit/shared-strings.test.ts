import { describe, expect, it } from 'vitest';
import { shared, shareInfoStrings, shareStatusStrings } from '../../actors/master/shared-strings.js';
import { decode, encode } from '../../bus/index.js';
import { TaskInfo, TaskStatus } from '../../protocol/index.js';

/** A status and a task as a decoded message gives them: every string a fresh copy. */
function decoded() {
  const status = TaskStatus.parse(
    decode(
      encode({
        taskId: 't-1',
        agentId: 'a-1',
        state: 'TASK_FAILED',
        reason: 'REASON_COMMAND_EXECUTOR_FAILED',
        source: 'SOURCE_EXECUTOR',
        message: 'exited 3',
        uuid: 'u-1',
        timestamp: 5,
        exitCode: 3,
      }),
    ),
  );
  const info = TaskInfo.parse(
    decode(
      encode({
        taskId: 't-1',
        name: 'n',
        agentId: 'a-1',
        resources: [
          { name: 'cpus', scalar: 0.5 },
          { name: 'fpgas', scalar: 1 },
        ],
        command: { value: 'true' },
      }),
    ),
  );
  return { status, info };
}

describe('shared strings of task records', () => {
  it('leaves every value of a status and a task as it was', () => {
    const { status, info } = decoded();
    const before = structuredClone({ status, info });
    shareStatusStrings(status, 't-1', 'a-1');
    shareInfoStrings(info, 'a-1');
    expect({ status, info }).toEqual(before);
  });

  it('does not point ids at the record when they differ', () => {
    const { status, info } = decoded();
    shareStatusStrings(status, 't-other', 'a-other');
    shareInfoStrings(info, 'a-other');
    expect([status.taskId, status.agentId, info.agentId]).toEqual(['t-1', 'a-1', 'a-1']);
  });

  it('knows the vocabulary and returns anything else as it is', () => {
    for (const s of [
      'TASK_RUNNING',
      'SOURCE_MASTER',
      'REASON_AGENT_REMOVED',
      'cpus',
      'mem',
      'gpus',
      'ports',
      'disk',
    ])
      expect(shared(`${s}`)).toBe(s);
    expect(shared('fpgas')).toBe('fpgas');
    expect(shared('')).toBe('');
  });

  it('keeps a status without a reason without one', () => {
    const status = TaskStatus.parse({
      taskId: 't',
      state: 'TASK_RUNNING',
      source: 'SOURCE_EXECUTOR',
      timestamp: 1,
    });
    shareStatusStrings(status, 't', 'a');
    expect('reason' in status).toBe(false);
    expect(status).toEqual({ taskId: 't', state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', timestamp: 1 });
  });
});
