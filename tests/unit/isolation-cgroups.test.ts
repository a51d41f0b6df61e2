import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type CgroupHierarchies,
  cfsQuotaUs,
  cpuShares,
  cpuWeight,
  createContainerizer,
  type HostFs,
  nodeHostFs,
  oomKills,
  PLACE_IN_CGROUPS,
  parseCgroupMounts,
} from '../../isolation/index.js';

const MB = 1024 * 1024;
const limits = { cpus: 0.2, memMb: 32, pidsMax: 100, enableCfs: true };

/**
 * fakeHost is a cgroup tree in a temp dir: a directory with files. Removing a cgroup removes
 * its files (a real one holds only kernel files), and a kill empties cgroup.procs (the process died).
 */
function fakeHost(root: string) {
  const killed: number[] = [];
  let now = 0;
  const fs: HostFs = {
    ...nodeHostFs,
    rmdir: (p) => rmSync(p, { recursive: true }),
    kill: (pid) => {
      killed.push(pid);
      for (const f of procsFiles) if (existsSync(f)) writeFileSync(f, '');
    },
    now: () => (now += 10),
  };
  const procsFiles: string[] = [];
  return { fs, killed, procsFiles, root };
}

const read = (p: string) => readFileSync(p, 'utf8');

describe('cgroup limits arithmetic', () => {
  it('gives 1024 shares per cpu, at least 2', () => {
    expect(cpuShares(0.2)).toBe(204); // 0.2 * 1024 = 204.8
    expect(cpuShares(1)).toBe(1024);
    expect(cpuShares(0)).toBe(2);
  });
  it('maps shares onto cpu.weight [1, 10000] as systemd does', () => {
    expect(cpuWeight(1)).toBe(39); // 1 + (1022 * 9999) / 262142 = 39.98
    expect(cpuWeight(0)).toBe(1);
    expect(cpuWeight(1000)).toBe(10000);
  });
  it('makes a CFS quota of cpus worth of the 100 ms period, at least 1 ms', () => {
    expect(cfsQuotaUs(0.2)).toBe(20_000);
    expect(cfsQuotaUs(2)).toBe(200_000);
    expect(cfsQuotaUs(0.001)).toBe(1000);
  });
  it('counts OOM kills from v1 memory.oom_control and v2 memory.events', () => {
    expect(oomKills('v1', 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n')).toBe(1);
    expect(oomKills('v1', 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n')).toBe(0);
    expect(oomKills('v1', 'oom_kill_disable 0\nunder_oom 1\n')).toBe(1); // kernels before 4.13
    expect(oomKills('v2', 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n')).toBe(1);
    expect(oomKills('v2', 'low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n')).toBe(0);
  });
});

describe('finding the cgroup hierarchies', () => {
  it('finds v1 controllers, co-mounted ones included, and prefers them over a hybrid v2 mount', () => {
    const mounts = [
      'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0',
      'cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0',
      'cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0',
      'cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0',
    ].join('\n');
    expect(parseCgroupMounts(mounts, () => '')).toEqual({
      version: 'v1',
      mounts: {
        cpu: '/sys/fs/cgroup/cpu,cpuacct',
        cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
        memory: '/sys/fs/cgroup/memory',
      },
    });
  });
  it('finds a unified v2 hierarchy with its controllers', () => {
    const mounts = 'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n';
    expect(parseCgroupMounts(mounts, () => 'cpuset cpu io memory pids\n')).toEqual({
      version: 'v2',
      mount: '/sys/fs/cgroup',
      controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'],
    });
  });
  it('finds none on a v2 mount without controllers, or without any mount', () => {
    expect(parseCgroupMounts('cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0', () => '\n')).toBeUndefined();
    expect(parseCgroupMounts('proc /proc proc rw 0 0', () => '')).toBeUndefined();
  });
});

describe('cgroup isolators against a fake cgroup tree', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'mezzo-cgroups-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const isolators = ['posix', 'cgroups/cpu', 'cgroups/mem', 'cgroups/pids'] as const;

  describe('on cgroup v1', () => {
    let h: CgroupHierarchies;
    beforeEach(() => {
      h = {
        version: 'v1',
        mounts: {
          cpu: join(root, 'cpu'),
          cpuacct: join(root, 'cpuacct'),
          memory: join(root, 'memory'),
          pids: join(root, 'pids'),
        },
      };
    });
    const dir = (c: string, id = 'c1') => join(root, c, 'mezzo', 'agent1', id);

    it('writes shares, the CFS quota, the memory limit and pids.max under mezzo/<agentId>/<containerId>', async () => {
      const { fs } = fakeHost(root);
      const c = createContainerizer({ agentId: 'agent1', isolators: [...isolators], cgroups: h }, fs);
      await c.prepare('c1', limits);
      expect(read(join(dir('cpu'), 'cpu.shares'))).toBe('204');
      expect(read(join(dir('cpu'), 'cpu.cfs_period_us'))).toBe('100000');
      expect(read(join(dir('cpu'), 'cpu.cfs_quota_us'))).toBe('20000');
      expect(existsSync(dir('cpuacct'))).toBe(true);
      expect(read(join(dir('memory'), 'memory.limit_in_bytes'))).toBe(String(32 * MB));
      expect(read(join(dir('pids'), 'pids.max'))).toBe('100');
    });

    it('lifts the CFS quota when CFS is off', async () => {
      const { fs } = fakeHost(root);
      const c = createContainerizer({ agentId: 'agent1', isolators: ['cgroups/cpu'], cgroups: h }, fs);
      await c.prepare('c1', { ...limits, enableCfs: false });
      expect(read(join(dir('cpu'), 'cpu.cfs_quota_us'))).toBe('-1');
    });

    it('wraps the launch so the task writes its own pid into every cgroup before it execs', async () => {
      const { fs } = fakeHost(root);
      const c = createContainerizer({ agentId: 'agent1', isolators: [...isolators], cgroups: h }, fs);
      const plan = c.launchPlan('c1', '/bin/sh', ['-c', 'echo hi'], '/sandbox');
      const files = ['cpu', 'cpuacct', 'memory', 'pids'].map((x) => join(dir(x), 'cgroup.procs'));
      expect(plan.program).toBe('/bin/sh');
      expect(plan.args).toEqual([
        '-c',
        PLACE_IN_CGROUPS,
        'mezzo-isolate',
        '4',
        ...files,
        '/bin/sh',
        '-c',
        'echo hi',
      ]);
    });

    it('reads usage: cpu times from cpuacct.stat, throttling, the limit, rss and processes', async () => {
      const { fs } = fakeHost(root);
      const c = createContainerizer({ agentId: 'agent1', isolators: [...isolators], cgroups: h }, fs);
      await c.prepare('c1', limits);
      writeFileSync(join(dir('cpuacct'), 'cpuacct.stat'), 'user 150\nsystem 25\n'); // ticks of 10 ms
      writeFileSync(join(dir('cpu'), 'cpu.stat'), 'nr_periods 40\nnr_throttled 31\nthrottled_time 9\n');
      writeFileSync(join(dir('memory'), 'memory.stat'), 'cache 4096\nrss 8192\ntotal_rss 12288\n');
      writeFileSync(join(dir('pids'), 'pids.current'), '3\n');
      expect(c.usage('c1', undefined, 5000)).toEqual({
        timestamp: 5,
        cpusUserTimeSecs: 1.5,
        cpusSystemTimeSecs: 0.25,
        cpusNrThrottled: 31,
        cpusLimit: 0.2, // 20000 / 100000
        memRssBytes: 12288,
        memLimitBytes: 32 * MB,
        processes: 3,
      });
    });

    it('reports a memory limitation once the kernel OOM-killed a process of the container', async () => {
      const { fs } = fakeHost(root);
      const c = createContainerizer({ agentId: 'agent1', isolators: [...isolators], cgroups: h }, fs);
      await c.prepare('c1', limits);
      writeFileSync(
        join(dir('memory'), 'memory.oom_control'),
        'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
      );
      expect(c.limitation('c1')).toBeUndefined();
      writeFileSync(
        join(dir('memory'), 'memory.oom_control'),
        'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
      );
      writeFileSync(join(dir('memory'), 'memory.max_usage_in_bytes'), String(32 * MB));
      expect(c.limitation('c1')).toEqual({
        kind: 'memory',
        message:
          'Memory limit exceeded: Requested: 32MB Maximum Used: 32MB; the kernel OOM-killed a process of the task',
      });
    });

    it('kills what is left in each cgroup, then removes them all; twice is fine', async () => {
      const host = fakeHost(root);
      const c = createContainerizer({ agentId: 'agent1', isolators: [...isolators], cgroups: h }, host.fs);
      await c.prepare('c1', limits);
      for (const x of ['cpu', 'memory']) {
        writeFileSync(join(dir(x), 'cgroup.procs'), '4242\n4243\n');
        host.procsFiles.push(join(dir(x), 'cgroup.procs'));
      }
      await c.cleanup('c1');
      expect(host.killed).toEqual(expect.arrayContaining([4242, 4243]));
      for (const x of ['cpu', 'cpuacct', 'memory', 'pids']) expect(existsSync(dir(x))).toBe(false);
      expect(existsSync(join(root, 'memory', 'mezzo', 'agent1'))).toBe(true);
      await c.cleanup('c1');
    });

    it("recovers: removes every container of the agent that is not known, and no other agent's", async () => {
      const { fs } = fakeHost(root);
      const c = createContainerizer({ agentId: 'agent1', isolators: [...isolators], cgroups: h }, fs);
      for (const id of ['live', 'orphan1', 'orphan2']) await c.prepare(id, limits);
      mkdirSync(join(root, 'memory', 'mezzo', 'agent2', 'theirs'), { recursive: true });
      expect(await c.recover(new Set(['live']))).toEqual(['orphan1', 'orphan2']);
      expect(existsSync(dir('memory', 'live'))).toBe(true);
      expect(existsSync(dir('memory', 'orphan1'))).toBe(false);
      expect(existsSync(dir('pids', 'orphan2'))).toBe(false);
      expect(existsSync(join(root, 'memory', 'mezzo', 'agent2', 'theirs'))).toBe(true);
    });
  });

  describe('on cgroup v2', () => {
    let h: CgroupHierarchies;
    beforeEach(() => {
      h = { version: 'v2', mount: join(root, 'unified'), controllers: ['cpu', 'memory', 'pids'] };
    });
    const dir = (id = 'c1') => join(root, 'unified', 'mezzo', 'agent1', id);

    it('enables the controllers down to the agent and writes cpu.weight, cpu.max, memory.max and pids.max in one cgroup', async () => {
      const { fs } = fakeHost(root);
      const c = createContainerizer({ agentId: 'agent1', isolators: [...isolators], cgroups: h }, fs);
      await c.prepare('c1', limits);
      expect(read(join(dir(), 'cpu.weight'))).toBe('8'); // 1 + (202 * 9999) / 262142 = 8.7
      expect(read(join(dir(), 'cpu.max'))).toBe('20000 100000');
      expect(read(join(dir(), 'memory.max'))).toBe(String(32 * MB));
      expect(read(join(dir(), 'pids.max'))).toBe('100');
      // The last controller enabled is what the fake file holds; each write is one `+controller`.
      expect(read(join(root, 'unified', 'mezzo', 'agent1', 'cgroup.subtree_control'))).toBe('+pids');
      const plan = c.launchPlan('c1', 'sleep', ['1'], '/sandbox');
      expect(plan.args.slice(3, 5)).toEqual(['1', join(dir(), 'cgroup.procs')]);
    });

    it('lifts the quota without CFS: cpu.max is "max 100000"', async () => {
      const { fs } = fakeHost(root);
      const c = createContainerizer({ agentId: 'agent1', isolators: ['cgroups/cpu'], cgroups: h }, fs);
      await c.prepare('c1', { ...limits, enableCfs: false });
      expect(read(join(dir(), 'cpu.max'))).toBe('max 100000');
    });

    it('reads usage from cpu.stat, cpu.max, memory.stat and memory.max', async () => {
      const { fs } = fakeHost(root);
      const c = createContainerizer({ agentId: 'agent1', isolators: [...isolators], cgroups: h }, fs);
      await c.prepare('c1', limits);
      writeFileSync(
        join(dir(), 'cpu.stat'),
        'usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\nnr_throttled 7\n',
      );
      writeFileSync(join(dir(), 'memory.stat'), 'anon 65536\nfile 4096\n');
      writeFileSync(join(dir(), 'pids.current'), '2\n');
      expect(c.usage('c1', undefined, 1000)).toEqual({
        timestamp: 1,
        cpusUserTimeSecs: 1.5,
        cpusSystemTimeSecs: 0.5,
        cpusNrThrottled: 7,
        cpusLimit: 0.2,
        memRssBytes: 65536,
        memLimitBytes: 32 * MB,
        processes: 2,
      });
    });

    it('reports an OOM kill from memory.events', async () => {
      const { fs } = fakeHost(root);
      const c = createContainerizer({ agentId: 'agent1', isolators: ['cgroups/mem'], cgroups: h }, fs);
      await c.prepare('c1', limits);
      writeFileSync(join(dir(), 'memory.events'), 'low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n');
      expect(c.limitation('c1')?.kind).toBe('memory');
    });

    it('removes the shared cgroup once, after killing what is left, and recovers orphans', async () => {
      const host = fakeHost(root);
      const c = createContainerizer({ agentId: 'agent1', isolators: [...isolators], cgroups: h }, host.fs);
      await c.prepare('c1', limits);
      await c.prepare('orphan', limits);
      writeFileSync(join(dir(), 'cgroup.procs'), '999\n');
      host.procsFiles.push(join(dir(), 'cgroup.procs'));
      await c.cleanup('c1');
      expect(host.killed).toEqual([999]);
      expect(existsSync(dir())).toBe(false);
      expect(await c.recover(new Set())).toEqual(['orphan']);
      expect(existsSync(dir('orphan'))).toBe(false);
    });
  });

  it('undoes what it prepared when an isolator cannot write its limits', async () => {
    const { fs } = fakeHost(root);
    const h: CgroupHierarchies = {
      version: 'v1',
      mounts: { cpu: join(root, 'cpu'), cpuacct: join(root, 'cpuacct'), memory: join(root, 'memory') },
    };
    const failing: HostFs = {
      ...fs,
      write: (p, v) => {
        if (p.endsWith('memory.limit_in_bytes')) throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
        fs.write(p, v);
      },
    };
    const c = createContainerizer(
      { agentId: 'agent1', isolators: ['cgroups/cpu', 'cgroups/mem'], cgroups: h },
      failing,
    );
    await expect(c.prepare('c1', limits)).rejects.toThrow(
      /could not write 33554432 to .*memory.limit_in_bytes/,
    );
    expect(existsSync(join(root, 'cpu', 'mezzo', 'agent1', 'c1'))).toBe(false);
    expect(existsSync(join(root, 'memory', 'mezzo', 'agent1', 'c1'))).toBe(false);
  });
});
