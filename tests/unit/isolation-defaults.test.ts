import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gpuIndices } from '../../actors/agent/containers.js';
import { detectResources } from '../../actors/agent/index.js';
import {
  assignGpus,
  chooseIsolation,
  createContainerizer,
  cudaVisibleDevices,
  detectGpus,
  devicesWrites,
  formatChoice,
  gpuDeviceDenials,
  type HostCapabilities,
  PID1_INIT,
  parseNvidiaSmi,
  parseProcStat,
  sumGroup,
} from '../../isolation/index.js';

const v1 = {
  version: 'v1' as const,
  mounts: {
    cpu: '/c/cpu',
    cpuacct: '/c/cpuacct',
    memory: '/c/memory',
    pids: '/c/pids',
    devices: '/c/devices',
  },
};
const rootHost: HostCapabilities = {
  platform: 'linux',
  root: true,
  cgroups: v1,
  controllers: { cpu: true, cpuacct: true, memory: true, pids: true, devices: true },
  unshare: true,
};
const unprivileged: HostCapabilities = {
  platform: 'linux',
  root: false,
  cgroups: v1,
  controllers: {
    cpu: 'cannot create /c/cpu/mezzo/a1: EACCES (not root)',
    cpuacct: 'cannot create /c/cpuacct/mezzo/a1: EACCES (not root)',
    memory: 'cannot create /c/memory/mezzo/a1: EACCES (not root)',
    pids: 'cannot create /c/pids/mezzo/a1: EACCES (not root)',
    devices: 'cannot create /c/devices/mezzo/a1: EACCES (not root)',
  },
  unshare: 'unshare --pid --mount-proc failed (not root)',
};
const mac: HostCapabilities = { platform: 'darwin', root: false, controllers: {}, unshare: 'not Linux' };

describe('choosing isolators by what the host supports', () => {
  it('turns on every cgroup isolator and a private tmp on a root Linux host; namespaces/pid is opt-in', () => {
    const choice = chooseIsolation(undefined, rootHost);
    expect(choice.on).toEqual([
      'posix',
      'cgroups/cpu',
      'cgroups/mem',
      'cgroups/pids',
      'cgroups/devices',
      'filesystem/tmp',
    ]);
    expect(choice.off).toEqual([{ name: 'namespaces/pid', why: 'opt-in (name it in isolation)' }]);
  });

  it('falls back to posix without privileges, saying why each cgroup isolator is off', () => {
    const choice = chooseIsolation(undefined, unprivileged);
    expect(choice.on).toEqual(['posix', 'filesystem/tmp']);
    expect(formatChoice(choice)).toBe(
      'isolation on: posix, filesystem/tmp; off: cgroups/cpu (cannot create /c/cpu/mezzo/a1: EACCES (not root)), ' +
        'cgroups/mem (cannot create /c/memory/mezzo/a1: EACCES (not root)), ' +
        'cgroups/pids (cannot create /c/pids/mezzo/a1: EACCES (not root)), ' +
        'cgroups/devices (cannot create /c/devices/mezzo/a1: EACCES (not root)), ' +
        'namespaces/pid (unshare --pid --mount-proc failed (not root))',
    );
  });

  it('runs posix alone on a host that is not Linux', () => {
    const choice = chooseIsolation(undefined, mac);
    expect(choice.on).toEqual(['posix']);
    expect(choice.off.map((o) => o.why)).toEqual(Array(6).fill('not Linux (darwin)'));
  });

  it('takes an explicit list as asked, keeps posix, and says which asked-for ones the host cannot give', () => {
    expect(chooseIsolation(['cgroups/mem', 'namespaces/pid'], rootHost).on).toEqual([
      'posix',
      'cgroups/mem',
      'namespaces/pid',
    ]);
    const choice = chooseIsolation(['cgroups/mem', 'namespaces/pid', 'docker'], unprivileged);
    expect(choice.on).toEqual(['posix']);
    expect(choice.off).toContainEqual({ name: 'docker', why: 'unknown isolator' });
    expect(choice.off).toContainEqual({
      name: 'namespaces/pid',
      why: 'unshare --pid --mount-proc failed (not root)',
    });
    expect(choice.off).toContainEqual({ name: 'cgroups/cpu', why: 'not requested' });
  });

  it('keeps cgroups off on a host without any cgroup hierarchy', () => {
    const none: HostCapabilities = {
      ...rootHost,
      cgroups: undefined,
      cgroupsWhyNot: 'no cgroup hierarchy with usable controllers',
      controllers: {},
    };
    expect(chooseIsolation(undefined, none).off).toContainEqual({
      name: 'cgroups/mem',
      why: 'no cgroup hierarchy with usable controllers',
    });
  });
});

describe('keeping a task off the GPUs it was not given', () => {
  it('denies the agent GPUs that went elsewhere, by the nvidia major and the index as minor', () => {
    expect(gpuDeviceDenials([0, 1, 2, 3], [1, 2])).toEqual(['c 195:0 rwm', 'c 195:3 rwm']);
    expect(gpuDeviceDenials([3, 0], [])).toEqual(['c 195:0 rwm', 'c 195:3 rwm']);
    expect(gpuDeviceDenials([0, 1], [0, 1])).toEqual([]);
  });

  it('writes one devices.deny per rule on v1 and nothing on v2', () => {
    const limits = { cpus: 1, memMb: 32, enableCfs: false, deniedDevices: ['c 195:0 rwm', 'c 195:3 rwm'] };
    expect(devicesWrites('v1', limits)).toEqual([
      { controller: 'devices', file: 'devices.deny', value: 'c 195:0 rwm' },
      { controller: 'devices', file: 'devices.deny', value: 'c 195:3 rwm' },
    ]);
    expect(devicesWrites('v2', limits)).toEqual([]);
    expect(devicesWrites('v1', { ...limits, deniedDevices: undefined })).toEqual([]);
  });

  it('is off on cgroup v2, saying why', () => {
    const v2Host: HostCapabilities = {
      ...rootHost,
      cgroups: { version: 'v2', mount: '/c', controllers: ['cpu', 'memory', 'pids'] },
      controllers: { cpu: true, cpuacct: true, memory: true, pids: true, devices: 'no devices controller' },
    };
    expect(chooseIsolation(undefined, v2Host).off).toContainEqual({
      name: 'cgroups/devices',
      why: 'cgroup v2 controls devices through eBPF, which Mezzo does not load yet',
    });
  });
});

describe('namespaces and a private /tmp', () => {
  it('runs the task as the child of an init in its own pid and mount namespaces, binding the sandbox tmp on /tmp', () => {
    const c = createContainerizer({ agentId: 'a1', isolators: ['namespaces/pid', 'filesystem/tmp'] });
    const sandbox = mkdtempSync(join(tmpdir(), 'mezzo-ns-'));
    const plan = c.launchPlan('c1', '/bin/sh', ['-c', 'ps'], sandbox);
    expect(plan).toEqual({
      program: 'unshare',
      args: [
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        '/bin/sh',
        '-c',
        PID1_INIT,
        'mezzo-init',
        join(sandbox, 'tmp'),
        '/bin/sh',
        '-c',
        'ps',
      ],
      env: { TMPDIR: join(sandbox, 'tmp') },
    });
    rmSync(sandbox, { recursive: true });
  });

  it('only points TMPDIR at the sandbox tmp without namespaces', () => {
    const sandbox = mkdtempSync(join(tmpdir(), 'mezzo-tmp-'));
    const plan = createContainerizer({ agentId: 'a1', isolators: ['filesystem/tmp'] }).launchPlan(
      'c1',
      'true',
      [],
      sandbox,
    );
    expect(plan).toEqual({ program: 'true', args: [], env: { TMPDIR: join(sandbox, 'tmp') } });
    rmSync(sandbox, { recursive: true });
  });
});

describe('posix usage from /proc', () => {
  it('reads a stat line whose command holds spaces and parentheses', () => {
    const line =
      '4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 1 0 100 1000000 300 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ pgrp: 4242, utimeTicks: 150, stimeTicks: 25, rssPages: 300 });
  });
  it("sums cpu times, rss and processes over the task's process group only", () => {
    const stats = [
      { pgrp: 10, utimeTicks: 100, stimeTicks: 10, rssPages: 1 },
      { pgrp: 10, utimeTicks: 50, stimeTicks: 0, rssPages: 2 },
      { pgrp: 11, utimeTicks: 999, stimeTicks: 999, rssPages: 999 },
    ];
    // user: (100 + 50) / 100 Hz = 1.5 s; rss: 3 pages of 4 KiB
    expect(sumGroup(stats, 10)).toEqual({
      cpusUserTimeSecs: 1.5,
      cpusSystemTimeSecs: 0.1,
      memRssBytes: 12288,
      processes: 2,
    });
  });
});

describe('GPUs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mezzo-gpus-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const smi = [
    '0, GPU-11111111-2222-3333-4444-555555555555, NVIDIA H100 80GB HBM3, 81559 MiB',
    '1, GPU-66666666-7777-8888-9999-000000000000, NVIDIA H100 80GB HBM3, 81559 MiB',
  ].join('\n');

  it('parses nvidia-smi CSV', () => {
    expect(parseNvidiaSmi(`${smi}\n`)).toEqual([
      {
        index: 0,
        uuid: 'GPU-11111111-2222-3333-4444-555555555555',
        name: 'NVIDIA H100 80GB HBM3',
        memoryMb: 81559,
      },
      {
        index: 1,
        uuid: 'GPU-66666666-7777-8888-9999-000000000000',
        name: 'NVIDIA H100 80GB HBM3',
        memoryMb: 81559,
      },
    ]);
    expect(parseNvidiaSmi('No devices were found\n')).toEqual([]);
  });

  it('runs a fake nvidia-smi found on PATH, and finds none without one', () => {
    const fake = join(dir, 'nvidia-smi');
    writeFileSync(
      fake,
      `#!/bin/sh\n[ "$1" = "--query-gpu=index,uuid,name,memory.total" ] || exit 9\ncat <<'X'\n${smi}\nX\n`,
    );
    chmodSync(fake, 0o755);
    expect(detectGpus(`${dir}:${process.env.PATH}`).map((g) => g.index)).toEqual([0, 1]);
    expect(detectGpus(join(dir, 'nowhere'))).toEqual([]);
  });

  it('advertises gpus:N when the machine has GPUs, unless resources say otherwise', () => {
    const machine = { cpus: 4, memMb: 8192, diskMb: 20480 };
    expect(detectResources(machine, undefined, 2)).toContainEqual({ name: 'gpus', scalar: 2 });
    expect(detectResources(machine, 'gpus:1', 2)).toContainEqual({ name: 'gpus', scalar: 1 });
    expect(detectResources(machine, undefined, 0).some((r) => r.name === 'gpus')).toBe(false);
  });

  it('offers the detected indices, cut or padded to what is advertised', () => {
    const gpus = parseNvidiaSmi(smi);
    expect(gpuIndices(gpus, 2)).toEqual([0, 1]);
    expect(gpuIndices(gpus, 1)).toEqual([0]);
    expect(gpuIndices([], 3)).toEqual([0, 1, 2]);
  });

  it('assigns the lowest free indices, whole GPUs only, and refuses when too few are free', () => {
    expect(assignGpus([0, 1, 2, 3], new Set([0, 2]), 2)).toEqual([1, 3]);
    expect(assignGpus([0, 1, 2, 3], new Set([0, 2]), 0.5)).toEqual([1]);
    expect(assignGpus([0, 1], new Set([1]), 2)).toBeUndefined();
    expect(assignGpus([0, 1], new Set(), 0)).toEqual([]);
    expect(cudaVisibleDevices([1, 3])).toBe('1,3');
    expect(cudaVisibleDevices([])).toBe('');
  });
});
