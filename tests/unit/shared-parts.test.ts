import { describe, expect, it } from 'vitest';
import { knowsUuid, rememberUuid } from '../../actors/master/bookkeeping.js';
import { MAX_SHARED_PART_CHARS, shareTaskParts } from '../../actors/master/shared-parts.js';
import type { TaskRecord } from '../../actors/master/state.js';
import { decode, encode } from '../../bus/index.js';
import { TaskInfo, type TaskInfoInput } from '../../protocol/index.js';

/** A task as a decoded message gives it: every part a fresh copy. */
function decoded(taskId: string, extra: Partial<TaskInfoInput> = {}): TaskInfo {
  return TaskInfo.parse(
    decode(
      encode({
        taskId,
        name: 'worker',
        agentId: 'a-1',
        resources: [
          { name: 'cpus', scalar: 0.5 },
          { name: 'ports', ranges: [[31000, 31001]] },
        ],
        command: { value: 'run --fast', env: { MODE: 'batch' } },
        labels: { job: 'nightly' },
        ...extra,
      }),
    ),
  );
}

describe('shared parts of task records', () => {
  it('gives equal parts of different tasks one frozen copy, and leaves every value as it was', () => {
    const a = decoded('t-1');
    const b = decoded('t-2');
    const before = structuredClone({ a, b });
    expect(a.resources).not.toBe(b.resources);
    shareTaskParts(a, 'a-1');
    shareTaskParts(b, 'a-1');
    expect({ a, b }).toEqual(before);
    expect(b.resources).toBe(a.resources);
    expect(b.command).toBe(a.command);
    expect(b.labels).toBe(a.labels);
    expect(Object.isFrozen(a.resources)).toBe(true);
    expect(Object.isFrozen(a.resources[1].ranges)).toBe(true);
    expect(Object.isFrozen(a.command.env)).toBe(true);
    // The task itself stays its own, and can still change (a new status, an agent id).
    expect(b).not.toBe(a);
    expect(Object.isFrozen(a)).toBe(false);
  });

  it('keeps parts that differ apart', () => {
    const a = decoded('t-3');
    const b = decoded('t-4', { command: { value: 'run --slow', env: { MODE: 'batch' } } });
    const c = decoded('t-5', { resources: [{ name: 'cpus', scalar: 1 }] });
    for (const t of [a, b, c]) shareTaskParts(t, 'a-1');
    expect(b.command).not.toBe(a.command);
    expect(b.command.value).toBe('run --slow');
    expect(c.resources).not.toBe(a.resources);
    expect(c.resources).toEqual([{ name: 'cpus', scalar: 1 }]);
    expect(b.resources).toBe(a.resources);
  });

  it('makes a change to a shared part fail loudly instead of changing the other tasks', () => {
    const a = decoded('t-6');
    const b = decoded('t-7');
    shareTaskParts(a, 'a-1');
    shareTaskParts(b, 'a-1');
    expect(() => {
      (a.resources[0] as { scalar: number }).scalar = 99;
    }).toThrow(TypeError);
    expect(() => {
      (a.command.env as Record<string, string>).MODE = 'other';
    }).toThrow(TypeError);
    expect(b.resources[0].scalar).toBe(0.5);
    // A task whose parts are already shared can be shared again (a record seen twice).
    expect(() => shareTaskParts(a, 'a-1')).not.toThrow();
  });

  it("leaves a part too large to be worth sharing as the task's own", () => {
    const env = { BLOB: 'x'.repeat(MAX_SHARED_PART_CHARS) };
    const a = decoded('t-8', { command: { value: 'big', env } });
    const b = decoded('t-9', { command: { value: 'big', env } });
    shareTaskParts(a, 'a-1');
    shareTaskParts(b, 'a-1');
    expect(b.command).not.toBe(a.command);
    expect(Object.isFrozen(a.command)).toBe(false);
    expect(b.command).toEqual(a.command);
  });
});

describe('the uuids of a task record', () => {
  const record = (): TaskRecord =>
    ({ frameworkId: 'f', agentId: 'a', role: '*', info: decoded('t'), status: {} }) as unknown as TaskRecord;

  it('keeps one uuid as itself and several as a list, forgetting the oldest past eight', () => {
    const t = record();
    expect(knowsUuid(t, 'u-0')).toBe(false);
    rememberUuid(t, 'u-0');
    expect(t.recentUuids).toBe('u-0');
    rememberUuid(t, 'u-0');
    expect(t.recentUuids).toBe('u-0');
    expect(knowsUuid(t, 'u-0')).toBe(true);
    rememberUuid(t, undefined);
    expect(t.recentUuids).toBe('u-0');
    for (let i = 1; i <= 8; i++) rememberUuid(t, `u-${i}`);
    expect(knowsUuid(t, 'u-0')).toBe(false);
    expect(knowsUuid(t, 'u-1')).toBe(true);
    expect(knowsUuid(t, 'u-8')).toBe(true);
    expect(t.recentUuids).toHaveLength(8);
  });
});
