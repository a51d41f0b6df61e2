import { describe, expect, it } from 'vitest';
import { compactInfo, compactStatus } from '../../actors/master/compact-records.js';
import { decode, encode } from '../../bus/index.js';
import { TaskInfo, TaskStatus } from '../../protocol/index.js';

const info = TaskInfo.parse({
  taskId: 't-1',
  name: 'web',
  agentId: 'a-1',
  resources: [{ name: 'cpus', scalar: 0.5 }],
  command: { value: 'serve' },
  killPolicy: { gracePeriodSeconds: 3 },
  labels: { app: 'web' },
});
const status = TaskStatus.parse({
  taskId: 't-1',
  state: 'TASK_FAILED',
  reason: 'REASON_COMMAND_EXECUTOR_FAILED',
  source: 'SOURCE_EXECUTOR',
  agentId: 'a-1',
  uuid: 'u-1',
  timestamp: 5,
  exitCode: 3,
});

describe('compact task records', () => {
  it('copy an info and a status with the same fields in the same order, absent ones absent', () => {
    const i = compactInfo(info);
    const s = compactStatus(status);
    expect(i).not.toBe(info);
    expect(Object.keys(i)).toEqual(Object.keys(info));
    expect(Object.keys(s)).toEqual(Object.keys(status));
    expect({ ...i }).toStrictEqual({ ...info });
    expect({ ...s }).toStrictEqual({ ...status });
    expect('container' in i).toBe(false);
    expect('message' in s).toBe(false);
  });

  it('encode and validate as the objects they copy', () => {
    const i = compactInfo(info);
    const s = compactStatus(status);
    expect(encode(i)).toEqual(encode(info));
    expect(encode(s)).toEqual(encode(status));
    expect(decode(encode(i))).toStrictEqual(info);
    expect(TaskInfo.parse(i)).toStrictEqual(info);
    expect(TaskStatus.parse(s)).toStrictEqual(status);
    expect(JSON.stringify(s)).toBe(JSON.stringify(status));
  });

  it('are copied once: a compact one is kept as it is', () => {
    const i = compactInfo(info);
    const s = compactStatus(status);
    expect(compactInfo(i)).toBe(i);
    expect(compactStatus(s)).toBe(s);
  });
});
