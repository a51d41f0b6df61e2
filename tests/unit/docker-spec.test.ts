import { describe, expect, it } from 'vitest';
import { dockerTaskSpec } from '../../actors/executor/docker-task.js';
import { containerLaunchFailureStatus, TaskFile, terminalStatus } from '../../actors/executor/index.js';
import { buildTaskRequest } from '../../cli/task-request.js';
import {
  DOCKER_SANDBOX,
  type DockerTaskSpec,
  dockerCmd,
  dockerCreateOptions,
  dockerEnd,
  missingImageMessage,
} from '../../isolation/index.js';
import { TaskInfo } from '../../protocol/index.js';

const spec: DockerTaskSpec = {
  image: 'mezzo-test/tiny:latest',
  shell: true,
  value: 'echo hi',
  env: { A: '1', MEZZO_TASK_ID: 't1' },
  cpus: 0.5,
  memMb: 64,
  sandbox: '/work/runs/c1',
  agentId: 'a1',
  frameworkId: 'f1',
  taskId: 't1',
  executorId: 't1',
  containerId: 'c1',
};

describe('the Docker create-container options', () => {
  it('maps cpus to NanoCpus, mem to a hard limit, the sandbox to /mnt/mesos/sandbox, and labels the container', () => {
    const o = dockerCreateOptions(spec);
    expect(o).toMatchObject({
      name: 'mezzo-c1',
      Image: 'mezzo-test/tiny:latest',
      Cmd: ['/bin/sh', '-c', 'echo hi'],
      Env: ['A=1', 'MEZZO_TASK_ID=t1'],
      WorkingDir: DOCKER_SANDBOX,
      Labels: { 'mezzo.agent': 'a1', 'mezzo.framework': 'f1', 'mezzo.task': 't1', 'mezzo.executor': 't1' },
      Tty: false,
    });
    // 0.5 cpus = 0.5 * 1e9 NanoCpus; 64 MB = 64 * 1024 * 1024 bytes, with no swap beyond it.
    expect(o.HostConfig).toEqual({
      Binds: ['/work/runs/c1:/mnt/mesos/sandbox'],
      NanoCpus: 500_000_000,
      Memory: 67_108_864,
      MemorySwap: 67_108_864,
      Init: true,
      AutoRemove: false,
    });
  });

  it.each([
    { cmd: { shell: true, value: 'echo $A; exit 3' }, want: ['/bin/sh', '-c', 'echo $A; exit 3'] },
    { cmd: { shell: false, argv: ['echo', 'hi there'] }, want: ['echo', 'hi there'] },
    { cmd: { shell: false, argv: ['/bin/sleep', '30'] }, want: ['/bin/sleep', '30'] },
  ])('runs $cmd as $want', ({ cmd, want }) => {
    expect(dockerCmd(cmd)).toEqual(want);
  });

  it('leaves out limits of zero and sets the network mode only when asked', () => {
    const o = dockerCreateOptions({ ...spec, cpus: 0, memMb: 0, network: 'none' });
    expect(o.HostConfig?.NanoCpus).toBeUndefined();
    expect(o.HostConfig?.Memory).toBeUndefined();
    expect(o.HostConfig?.NetworkMode).toBe('none');
    expect(dockerCreateOptions(spec).HostConfig?.NetworkMode).toBeUndefined();
  });
});

describe('how a container ended', () => {
  it.each([
    {
      state: { ExitCode: 0 },
      kill: false,
      want: { exitCode: 0, signal: null, oomKilled: false },
      status: 'TASK_FINISHED',
    },
    {
      state: { ExitCode: 3 },
      kill: false,
      want: { exitCode: 3, signal: null, oomKilled: false },
      status: 'TASK_FAILED',
    },
    // 143 = 128 + 15: a kill the executor asked for reads as SIGTERM; the task's own `exit 143` does not.
    {
      state: { ExitCode: 143 },
      kill: true,
      want: { exitCode: null, signal: 'SIGTERM', oomKilled: false },
      status: 'TASK_KILLED',
    },
    {
      state: { ExitCode: 143 },
      kill: false,
      want: { exitCode: 143, signal: null, oomKilled: false },
      status: 'TASK_FAILED',
    },
    {
      state: { ExitCode: 137 },
      kill: true,
      want: { exitCode: null, signal: 'SIGKILL', oomKilled: false },
      status: 'TASK_KILLED',
    },
    {
      state: { ExitCode: 137, OOMKilled: true },
      kill: false,
      want: { exitCode: null, signal: 'SIGKILL', oomKilled: true },
      status: 'TASK_FAILED',
    },
  ])('reads $state (kill asked: $kill) as $want, which is $status', ({ state, kill, want, status }) => {
    const end = dockerEnd(state, kill);
    expect(end).toEqual(want);
    const t = terminalStatus({
      exitCode: end.exitCode,
      signal: end.signal,
      killRequested: kill,
      limitation: end.oomKilled ? { kind: 'memory', message: 'Memory limit exceeded' } : undefined,
    });
    expect(t.state).toBe(status);
    if (end.oomKilled) expect(t.reason).toBe('REASON_CONTAINER_LIMITATION_MEMORY');
  });

  it('fails a task whose image is missing with REASON_CONTAINER_LAUNCH_FAILED and says so', () => {
    expect(containerLaunchFailureStatus(missingImageMessage('nope:1'))).toEqual({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      message: expect.stringMatching(/^image nope:1 is not present on this agent/),
    });
  });
});

describe('a DOCKER task on the wire and from the CLI', () => {
  const task = {
    taskId: 't1',
    name: 'n',
    resources: [
      { name: 'cpus', scalar: 0.25 },
      { name: 'mem', scalar: 32 },
    ],
    command: { shell: false, argv: ['echo', 'hi'], env: { X: 'y' } },
    container: { type: 'DOCKER', docker: { image: 'mezzo-test/tiny:latest' } },
  };

  it('accepts an image name and refuses one with whitespace or over 256 characters', () => {
    expect(TaskInfo.safeParse(task).success).toBe(true);
    const bad = (image: string) =>
      TaskInfo.safeParse({ ...task, container: { type: 'DOCKER', docker: { image } } }).success;
    expect(bad('has space')).toBe(false);
    expect(bad('x'.repeat(257))).toBe(false);
    expect(bad('')).toBe(false);
    expect(TaskInfo.safeParse({ ...task, container: { type: 'MESOS' } }).success).toBe(false);
  });

  it('turns task.json into the container spec with the ids and the sandbox as the container sees it', () => {
    const file = TaskFile.parse({
      task,
      frameworkId: 'f1',
      agentId: 'a1',
      executorId: 't1',
      prefix: 'mezzo.v1',
      killPolicy: { gracePeriodSeconds: 3 },
      isolation: {
        agentId: 'a1',
        containerId: 'c9',
        isolators: ['posix'],
        dockerSocket: '/var/run/docker.sock',
      },
    });
    expect(dockerTaskSpec(file, '/sbx')).toEqual({
      image: 'mezzo-test/tiny:latest',
      network: undefined,
      shell: false,
      value: undefined,
      argv: ['echo', 'hi'],
      env: {
        X: 'y',
        MEZZO_TASK_ID: 't1',
        MEZZO_FRAMEWORK_ID: 'f1',
        MEZZO_AGENT_ID: 'a1',
        MEZZO_SANDBOX: DOCKER_SANDBOX,
      },
      cpus: 0.25,
      memMb: 32,
      sandbox: '/sbx',
      agentId: 'a1',
      frameworkId: 'f1',
      taskId: 't1',
      executorId: 't1',
      containerId: 'c9',
    });
  });

  it("publishes the task's host ports as the same container ports on a bridge network, and asks for its GPUs", () => {
    const file = TaskFile.parse({
      task: { ...task, resources: [...task.resources, { name: 'ports', ranges: [[31000, 31001]] }] },
      frameworkId: 'f1',
      agentId: 'a1',
      executorId: 't1',
      prefix: 'mezzo.v1',
      killPolicy: { gracePeriodSeconds: 3 },
      isolation: { agentId: 'a1', containerId: 'c9', isolators: ['posix'], gpus: [1], agentGpus: [0, 1] },
    });
    const s = dockerTaskSpec(file, '/sbx');
    expect(s).toMatchObject({ ports: [31000, 31001], gpus: [1] });
    const o = dockerCreateOptions(s);
    expect(o.ExposedPorts).toEqual({ '31000/tcp': {}, '31001/tcp': {} });
    expect(o.HostConfig?.PortBindings).toEqual({
      '31000/tcp': [{ HostPort: '31000' }],
      '31001/tcp': [{ HostPort: '31001' }],
    });
    expect(o.HostConfig?.DeviceRequests).toEqual([
      { Driver: 'nvidia', DeviceIDs: ['1'], Capabilities: [['gpu']] },
    ]);
    // On the host network the task binds its ports itself.
    const host = dockerCreateOptions({ ...s, network: 'host' });
    expect(host.HostConfig?.PortBindings).toBeUndefined();
    expect(host.ExposedPorts).toBeUndefined();
    // Without ports or GPUs, neither is set.
    const plain = dockerCreateOptions({ ...s, ports: undefined, gpus: undefined });
    expect(plain.HostConfig?.PortBindings).toBeUndefined();
    expect(plain.HostConfig?.DeviceRequests).toBeUndefined();
  });

  it('sets the container from mezzo run --image, and refuses a bad image name as a usage error', () => {
    const flags = { cpus: 0.1, mem: 32, disk: 0, role: '*', image: 'mezzo-test/tiny' };
    expect(buildTaskRequest(['echo', 'hi'], flags, 'abc123').container).toEqual({
      type: 'DOCKER',
      docker: { image: 'mezzo-test/tiny' },
    });
    expect(
      buildTaskRequest(['echo', 'hi'], { ...flags, image: undefined }, 'abc123').container,
    ).toBeUndefined();
    expect(() => buildTaskRequest(['echo'], { ...flags, image: 'a b' }, 'abc123')).toThrow(/--image a b/);
  });
});
