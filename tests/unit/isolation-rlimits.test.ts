import { describe, expect, it } from 'vitest';
import {
  type DockerTaskSpec,
  dockerCreateOptions,
  dockerUlimits,
  IsolationError,
  nodeHostFs,
  posixIsolator,
  prlimitArgs,
} from '../../isolation/index.js';
import { TaskInfo } from '../../protocol/index.js';

const task = (rlimits: unknown) => ({
  taskId: 't1',
  name: 't1',
  resources: [],
  command: { value: 'true' },
  rlimits,
});

describe('task rlimits on the wire', () => {
  it('accepts soft and hard together, or neither for unlimited', () => {
    const t = TaskInfo.parse(task([{ type: 'NOFILE', soft: 64, hard: 128 }, { type: 'CORE' }]));
    expect(t.rlimits).toEqual([{ type: 'NOFILE', soft: 64, hard: 128 }, { type: 'CORE' }]);
  });

  it.each([
    [[{ type: 'NOFILE', soft: 64 }], /both soft and hard, or neither/],
    [[{ type: 'NOFILE', soft: 200, hard: 100 }], /soft value may not exceed its hard value/],
    [[{ type: 'NOFILE' }, { type: 'NOFILE', soft: 1, hard: 1 }], /may appear only once/],
    [[{ type: 'FILES', soft: 1, hard: 1 }], /rlimits\.0\.type|Invalid option/],
    [[{ type: 'NPROC', soft: -1, hard: 1 }], /too small|>=0/],
  ])('refuses %j', (rlimits, message) => {
    const r = TaskInfo.safeParse(task(rlimits));
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(message);
  });
});

describe('setting rlimits', () => {
  it('gives prlimit one option per limit, unlimited where none is given', () => {
    expect(prlimitArgs([{ type: 'NOFILE', soft: 64, hard: 128 }, { type: 'CORE' }])).toEqual([
      '--nofile=64:128',
      '--core=unlimited:unlimited',
    ]);
  });

  it('gives the Docker engine ulimits, -1 for unlimited', () => {
    expect(dockerUlimits([{ type: 'NPROC', soft: 10, hard: 20 }, { type: 'STACK' }])).toEqual([
      { Name: 'nproc', Soft: 10, Hard: 20 },
      { Name: 'stack', Soft: -1, Hard: -1 },
    ]);
    const spec: DockerTaskSpec = {
      image: 'i',
      shell: true,
      value: 'true',
      env: {},
      cpus: 1,
      memMb: 32,
      sandbox: '/s',
      agentId: 'a',
      frameworkId: 'f',
      taskId: 't',
      executorId: 't',
      containerId: 'c',
    };
    expect(
      dockerCreateOptions({ ...spec, rlimits: [{ type: 'NOFILE', soft: 5, hard: 6 }] }).HostConfig?.Ulimits,
    ).toEqual([{ Name: 'nofile', Soft: 5, Hard: 6 }]);
    expect(dockerCreateOptions(spec).HostConfig?.Ulimits).toBeUndefined();
  });

  it('posix starts a task with rlimits through prlimit, and one without unchanged', async () => {
    const posix = posixIsolator(nodeHostFs, '/proc', () => true);
    const limits = { cpus: 1, memMb: 32, enableCfs: false };
    posix.prepare('c1', { ...limits, rlimits: [{ type: 'NOFILE', soft: 8, hard: 8 }] });
    posix.prepare('c2', limits);
    const plan = { program: '/bin/sh', args: ['-c', 'ulimit -n'], env: {} };
    expect(posix.wrap('c1', plan, '/s')).toEqual({
      program: 'prlimit',
      args: ['--nofile=8:8', '--', '/bin/sh', '-c', 'ulimit -n'],
      env: {},
    });
    expect(posix.wrap('c2', plan, '/s')).toEqual(plan);
    await posix.cleanup('c1');
    expect(posix.wrap('c1', plan, '/s')).toEqual(plan);
  });

  it('refuses to prepare a task with rlimits where prlimit is missing, saying so', () => {
    const posix = posixIsolator(nodeHostFs, '/proc', () => false);
    expect(() =>
      posix.prepare('c1', {
        cpus: 1,
        memMb: 32,
        enableCfs: false,
        rlimits: [{ type: 'CORE', soft: 0, hard: 0 }],
      }),
    ).toThrow(IsolationError);
    expect(() => posix.prepare('c2', { cpus: 1, memMb: 32, enableCfs: false })).not.toThrow();
  });
});
