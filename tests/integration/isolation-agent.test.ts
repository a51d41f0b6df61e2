import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AgentConfig, type AgentHandle, startAgent } from '../../actors/agent/index.js';
import { type NatsBus, silentLogger } from '../../bus/index.js';
import {
  agentCgroup,
  type CgroupController,
  type CgroupHierarchies,
  IsolatorName,
  parseCgroupMounts,
} from '../../isolation/index.js';
import {
  AgentToMaster,
  ExecutorToAgent,
  FrameworkInfo,
  MasterToAgent,
  subjects as makeSubjects,
  type StatusUpdate,
  type Subjects,
} from '../../protocol/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';
import { alive, waitFor } from '../support/processes.js';

const framework = FrameworkInfo.parse({ id: 'fw-isolation', name: 'isolation tests' });
const CONTROLLERS: CgroupController[] = ['cpu', 'cpuacct', 'memory', 'pids', 'devices'];
const TERMINAL = ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR'];

/** hierarchies are this host's cgroups, as the agent finds them (undefined: none). */
const hierarchies: CgroupHierarchies | undefined = (() => {
  try {
    return parseCgroupMounts(readFileSync('/proc/mounts', 'utf8'), (m) =>
      readFileSync(join(m, 'cgroup.controllers'), 'utf8'),
    );
  } catch {
    return undefined;
  }
})();

/** agentCgroupDirs are `<hierarchy>/mezzo/<agentId>` of every controller the host has. */
function agentCgroupDirs(agentId: string): string[] {
  if (!hierarchies) return [];
  const out = new Set<string>();
  for (const c of CONTROLLERS) {
    try {
      out.add(agentCgroup(hierarchies, c, agentId));
    } catch {
      // No such controller here.
    }
  }
  return [...out];
}

/** findFile finds a file by name under a directory (a task's sandbox file). */
function findFile(dir: string, name: string): string | undefined {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      const hit = findFile(p, name);
      if (hit) return hit;
    } else if (e === name) return p;
  }
  return undefined;
}

describe('isolation on a real agent', () => {
  let nats: TestNats;
  let s: Subjects;
  let bus: NatsBus;
  const updates: StatusUpdate[] = [];
  const taskPids = new Map<string, number>();
  const agents: AgentHandle[] = [];
  const dirs: string[] = [];
  let counter = 0;

  beforeAll(async () => {
    nats = await startTestNats();
    s = makeSubjects(nats.prefix);
    bus = await nats.bus('fake-master');
    bus.serve(s.masterAgentAll(), AgentToMaster, (msg, ctx) => {
      const agentId = ctx.subject.slice(ctx.subject.lastIndexOf('.') + 1);
      if (msg.type === 'REGISTER') return { agentId, masterId: 'fake', heartbeatIntervalSeconds: 15 };
      if (msg.type === 'STATUS_UPDATE') {
        updates.push(msg.update);
        bus.publish(s.agent(agentId), MasterToAgent, {
          type: 'STATUS_UPDATE_ACK',
          frameworkId: msg.update.frameworkId,
          taskId: msg.update.status.taskId,
          uuid: msg.update.status.uuid,
        });
      }
      return {};
    });
    await bus.flush();
  });

  afterEach(async () => {
    const stopped = agents.splice(0);
    await Promise.all(stopped.map((a) => a.stop()));
    // Nothing a task made is left: no cgroup under mezzo/<agentId>, no task process.
    for (const a of stopped)
      for (const dir of agentCgroupDirs(a.agentId)) expect(existsSync(dir)).toBe(false);
    for (const pid of taskPids.values()) expect(alive(pid)).toBe(false);
    taskPids.clear();
  });

  afterAll(async () => {
    await nats.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function agent(config: Partial<AgentConfig> = {}): Promise<AgentHandle & { workDir: string }> {
    const workDir = config.workDir ?? mkdtempSync(join(tmpdir(), 'mezzo-isolation-'));
    if (!dirs.includes(workDir)) dirs.push(workDir);
    const a = await startAgent({
      bus: await nats.bus('agent'),
      subjects: s,
      log: silentLogger,
      config: {
        resources: 'cpus:2;mem:1024;disk:1024;ports:[31000-31009]',
        natsUrl: nats.url,
        statusUpdateRetryMs: 300,
        registrationBackoff: { baseMs: 50, capMs: 200 },
        defaultKillGracePeriodSeconds: 1,
        ...config,
        workDir,
      },
    });
    agents.push(a);
    bus.listen(s.agentExecutors(a.agentId), ExecutorToAgent, (m) => {
      if (m.type === 'REGISTER') taskPids.set(m.taskId, m.pid);
    });
    await bus.flush();
    await a.registered();
    return Object.assign(a, { workDir });
  }

  function run(agentId: string, command: string, resources: string, extra: object = {}): string {
    const taskId = `iso-${++counter}`;
    const parsed = resources.split(';').map((r) => {
      const [name, v] = r.split(':');
      return { name, scalar: Number(v) };
    });
    bus.publish(s.agent(agentId), MasterToAgent, {
      type: 'RUN_TASK',
      framework,
      task: { taskId, name: taskId, agentId, resources: parsed, command: { value: command }, ...extra },
    });
    return taskId;
  }

  const latest = (taskId: string) => updates.filter((u) => u.status.taskId === taskId).at(-1)?.status;
  async function state(taskId: string, want: string[], timeoutMs = 10_000) {
    await waitFor(() => want.includes(latest(taskId)?.state ?? ''), timeoutMs, `${taskId} in ${want}`);
    return latest(taskId) as StatusUpdate['status'];
  }

  it('fails a task that allocates past its mem limit with REASON_CONTAINER_LIMITATION_MEMORY while its neighbour keeps running', async () => {
    const a = await agent();
    const neighbour = run(a.agentId, 'sleep 30', 'cpus:0.1;mem:32');
    await state(neighbour, ['TASK_RUNNING']);
    // tail holds the whole 200 MB "line" in memory.
    const hog = run(a.agentId, 'head -c 200000000 /dev/zero | tail', 'cpus:0.1;mem:32');
    const end = await state(hog, TERMINAL, 12_000);
    if (a.isolation.on.includes(IsolatorName.CGROUPS_MEM)) {
      expect(end).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LIMITATION_MEMORY' });
      expect(end.message).toMatch(/Memory limit exceeded/);
    } else {
      // The posix fallback enforces no memory limit: the hog simply finishes.
      expect(a.isolation.off.find((o) => o.name === IsolatorName.CGROUPS_MEM)?.why).toBeTruthy();
      expect(end.state).toBe('TASK_FINISHED');
    }
    expect(latest(neighbour)?.state).toBe('TASK_RUNNING');
    expect(alive(taskPids.get(neighbour) ?? -1)).toBe(true);
  }, 20_000);

  it('holds a busy loop given 0.2 cpus with CFS on to about 0.2 cpu, measured through its statistics', async () => {
    const a = await agent({ cgroupsEnableCfs: true });
    const taskId = run(a.agentId, 'while :; do :; done', 'cpus:0.2;mem:32');
    await state(taskId, ['TASK_RUNNING']);
    await new Promise((r) => setTimeout(r, 300));
    const cpu = () => {
      const u = a.usage(taskId);
      return (u?.cpusUserTimeSecs ?? 0) + (u?.cpusSystemTimeSecs ?? 0);
    };
    const t0 = Date.now();
    const c0 = cpu();
    await new Promise((r) => setTimeout(r, 3000));
    const used = (cpu() - c0) / ((Date.now() - t0) / 1000);
    const u = a.usage(taskId);
    if (a.isolation.on.includes(IsolatorName.CGROUPS_CPU)) {
      // At most 0.2 cpu (within 25%), throttled. The floor only shows the loop ran: on a loaded
      // 2-core machine (CI runs two test files at once) it can get less than its quota (0.146 once).
      expect(used).toBeGreaterThan(0.08);
      expect(used).toBeLessThan(0.25);
      expect(u?.cpusLimit).toBeCloseTo(0.2);
      expect(u?.cpusNrThrottled).toBeGreaterThan(0);
    } else {
      // posix measures from /proc but cannot cap: the loop takes a whole core.
      expect(used).toBeGreaterThan(0.5);
    }
    expect(u?.processes).toBeGreaterThanOrEqual(1);
  }, 15_000);

  it('with namespaces/pid a task sees only its own processes, and a private /tmp', async () => {
    const a = await agent({ isolation: ['namespaces/pid', 'filesystem/tmp'] });
    const marker = `mezzo-private-${process.pid}-${Date.now()}`;
    const taskId = run(
      a.agentId,
      `sleep 5 & ps -e -o pid=,comm=; echo hi > /tmp/${marker}`,
      'cpus:0.1;mem:32',
    );
    const end = await state(taskId, TERMINAL);
    expect(end.state).toBe('TASK_FINISHED');
    const out = readFileSync(findFile(a.workDir, 'stdout') ?? '', 'utf8');
    const pids = out
      .trim()
      .split('\n')
      .map((l) => Number(l.trim().split(/\s+/)[0]));
    if (a.isolation.on.includes(IsolatorName.NAMESPACES_PID)) {
      // init (sh), the task's sh, sleep and ps: nothing of the host.
      expect(pids.length).toBeLessThanOrEqual(5);
      expect(Math.max(...pids)).toBeLessThan(10);
      expect(pids).toContain(1);
      expect(existsSync(join('/tmp', marker))).toBe(false);
      expect(findFile(a.workDir, marker)).toBeDefined();
    } else {
      expect(a.isolation.off.find((o) => o.name === IsolatorName.NAMESPACES_PID)?.why).toBeTruthy();
      expect(pids.length).toBeGreaterThan(5);
      rmSync(join('/tmp', marker), { force: true });
    }
  }, 15_000);

  it('kills a task in its own pid namespace promptly on KILL: the init forwards SIGTERM', async () => {
    const a = await agent({ isolation: ['namespaces/pid'], defaultKillGracePeriodSeconds: 10 });
    const taskId = run(a.agentId, 'sleep 30', 'cpus:0.1;mem:32');
    await state(taskId, ['TASK_RUNNING']);
    const t0 = Date.now();
    bus.publish(s.agent(a.agentId), MasterToAgent, { type: 'KILL_TASK', frameworkId: framework.id, taskId });
    const end = await state(taskId, TERMINAL);
    expect(end.state).toBe('TASK_KILLED');
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 15_000);

  it('runs tasks with posix alone, and says why, on a host that gives no cgroups or namespaces', async () => {
    const a = await agent({
      probeHost: () => ({
        platform: 'linux',
        root: false,
        controllers: {},
        cgroupsWhyNot: 'no cgroup hierarchy with usable controllers',
        unshare: 'unshare --pid --mount-proc failed (not root)',
      }),
    });
    expect(a.isolation.on).toEqual(['posix', 'filesystem/tmp']);
    expect(a.isolation.off).toContainEqual({
      name: 'cgroups/mem',
      why: 'no cgroup hierarchy with usable controllers',
    });
    const taskId = run(a.agentId, 'sleep 2', 'cpus:0.1;mem:32');
    await state(taskId, ['TASK_RUNNING']);
    expect(a.usage(taskId)?.processes).toBeGreaterThanOrEqual(1); // sh -c and its sleep
    expect(a.usage(taskId)?.memRssBytes).toBeGreaterThan(0);
    expect((await state(taskId, TERMINAL)).state).toBe('TASK_FINISHED');
    for (const dir of agentCgroupDirs(a.agentId)) expect(existsSync(dir)).toBe(false);
  }, 15_000);

  it('gives a task asking for GPUs only its own (CUDA_VISIBLE_DEVICES), and fails one asking for more than are free', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'mezzo-fake-smi-'));
    dirs.push(bin);
    writeFileSync(
      join(bin, 'nvidia-smi'),
      "#!/bin/sh\nprintf '%s\\n' '0, GPU-aaaa, Fake GPU, 1024 MiB' '1, GPU-bbbb, Fake GPU, 1024 MiB'\n",
    );
    chmodSync(join(bin, 'nvidia-smi'), 0o755);
    const a = await agent({ gpuSearchPath: `${bin}:${process.env.PATH}` });
    const holder = run(a.agentId, 'echo "gpus=$CUDA_VISIBLE_DEVICES"; sleep 30', 'cpus:0.1;mem:32;gpus:1');
    await state(holder, ['TASK_RUNNING']);
    const second = run(a.agentId, 'echo "gpus=$CUDA_VISIBLE_DEVICES"', 'cpus:0.1;mem:32;gpus:1');
    await state(second, ['TASK_FINISHED']);
    const none = run(a.agentId, 'echo "gpus=[$CUDA_VISIBLE_DEVICES]"', 'cpus:0.1;mem:32');
    await state(none, ['TASK_FINISHED']);
    const greedy = run(a.agentId, 'true', 'cpus:0.1;mem:32;gpus:2');
    expect(await state(greedy, TERMINAL)).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
    });
    const out = (taskId: string) =>
      readFileSync(
        findFile(join(a.workDir, 'frameworks', framework.id, 'executors', taskId), 'stdout') ?? '',
        'utf8',
      );
    await waitFor(() => out(holder).includes('gpus='), 5000, 'the holder output');
    expect(out(holder)).toBe('gpus=0\n');
    expect(out(second)).toBe('gpus=1\n');
    expect(out(none)).toBe('gpus=[]\n');
  }, 15_000);

  it('runs a task under the rlimits it asks for (posix, through prlimit)', async () => {
    const a = await agent();
    const taskId = run(a.agentId, 'ulimit -n; ulimit -Hn; ulimit -c', 'cpus:0.1;mem:32', {
      rlimits: [
        { type: 'NOFILE', soft: 64, hard: 128 },
        { type: 'CORE', soft: 0, hard: 0 },
      ],
    });
    expect((await state(taskId, TERMINAL)).state).toBe('TASK_FINISHED');
    const out = readFileSync(
      findFile(join(a.workDir, 'frameworks', framework.id, 'executors', taskId), 'stdout') ?? '',
      'utf8',
    );
    expect(out).toBe('64\n128\n0\n');
  }, 15_000);

  it('runs a task as the user its command names, inside its cgroups, owning its sandbox; an unknown user fails clearly', async () => {
    const a = await agent();
    const script = 'id -un; touch mine; stat -c %U mine; grep -c mezzo /proc/self/cgroup';
    const taskId = run(a.agentId, script, 'cpus:0.1;mem:32', { command: { value: script, user: 'nobody' } });
    const end = await state(taskId, TERMINAL);
    if (process.getuid?.() !== 0) {
      // Only root may switch users: the task fails and says why.
      expect(end).toMatchObject({ state: 'TASK_FAILED', message: expect.stringContaining('not root') });
      return;
    }
    expect(end.state).toBe('TASK_FINISHED');
    const out = readFileSync(
      findFile(join(a.workDir, 'frameworks', framework.id, 'executors', taskId), 'stdout') ?? '',
      'utf8',
    ).split('\n');
    expect(out.slice(0, 2)).toEqual(['nobody', 'nobody']);
    if (a.isolation.on.includes(IsolatorName.CGROUPS_MEM)) expect(Number(out[2])).toBeGreaterThan(0);
    const ghost = run(a.agentId, 'true', 'cpus:0.1;mem:32', {
      command: { value: 'true', user: 'ghost-user' },
    });
    expect(await state(ghost, TERMINAL)).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_COMMAND_EXECUTOR_FAILED',
      message: expect.stringContaining('user ghost-user does not exist on this agent'),
    });
  }, 20_000);

  it('denies a task the device files of the GPUs it was not given (cgroups/devices on v1)', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'mezzo-fake-gpus-'));
    dirs.push(bin);
    writeFileSync(
      join(bin, 'nvidia-smi'),
      "#!/bin/sh\nprintf '%s\\n' '0, GPU-aaaa, Fake GPU, 1024 MiB' '1, GPU-bbbb, Fake GPU, 1024 MiB'\n",
    );
    chmodSync(join(bin, 'nvidia-smi'), 0o755);
    // Device nodes with the GPUs' numbers: without a driver, opening one that is allowed fails
    // with ENXIO ("No such device or address"), one the cgroup denies with EPERM.
    for (const i of [0, 1]) spawnSync('mknod', [join(bin, `nvidia${i}`), 'c', '195', String(i)]);
    const a = await agent({ gpuSearchPath: `${bin}:${process.env.PATH}` });
    const v1Root = hierarchies?.version === 'v1' && !!hierarchies.mounts.devices && process.getuid?.() === 0;
    if (v1Root) expect(a.isolation.on).toContain(IsolatorName.CGROUPS_DEVICES);
    if (!a.isolation.on.includes(IsolatorName.CGROUPS_DEVICES)) {
      // Not root or no v1 devices hierarchy: the agent must say why it is off.
      expect(a.isolation.off.map((o) => o.name)).toContain(IsolatorName.CGROUPS_DEVICES);
      return;
    }
    const probe = `for n in 0 1; do cat ${bin}/nvidia$n 2>&1 | sed "s/^/dev$n: /"; done; echo "gpus=$CUDA_VISIBLE_DEVICES"`;
    const first = run(a.agentId, `${probe}; sleep 30`, 'cpus:0.1;mem:32;gpus:1');
    await state(first, ['TASK_RUNNING']);
    const second = run(a.agentId, probe, 'cpus:0.1;mem:32;gpus:1');
    await state(second, ['TASK_FINISHED']);
    const out = (taskId: string) =>
      readFileSync(
        findFile(join(a.workDir, 'frameworks', framework.id, 'executors', taskId), 'stdout') ?? '',
        'utf8',
      );
    await waitFor(() => out(first).includes('gpus='), 5000, 'the first task output');
    expect(out(first)).toMatch(/gpus=0/);
    expect(out(first)).toMatch(/dev0: .*No such device or address/);
    expect(out(first)).toMatch(/dev1: .*Operation not permitted/);
    expect(out(second)).toMatch(/gpus=1/);
    expect(out(second)).toMatch(/dev0: .*Operation not permitted/);
    expect(out(second)).toMatch(/dev1: .*No such device or address/);
  }, 20_000);

  it('removes, at start, the cgroups and processes a crashed agent left behind', async () => {
    const first = await agent();
    const workDir = first.workDir;
    await first.stop();
    agents.splice(agents.indexOf(first), 1);
    const leftovers = hierarchies ? agentCgroupDirs(first.agentId).map((d) => join(d, 'crashedc0ffee')) : [];
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    const usable = leftovers.every((d) => {
      try {
        mkdirSync(d, { recursive: true });
        writeFileSync(join(d, 'cgroup.procs'), String(sleeper.pid));
        return true;
      } catch {
        return false;
      }
    });
    const again = await agent({ workDir });
    expect(again.agentId).toBe(first.agentId);
    if (usable && leftovers.length > 0) {
      for (const d of leftovers) expect(existsSync(d)).toBe(false);
      await waitFor(
        () => sleeper.exitCode !== null || sleeper.signalCode !== null,
        3000,
        'the orphan killed',
      );
      expect(sleeper.signalCode).toBe('SIGKILL');
    } else {
      // No cgroups here: nothing to recover, and the agent still runs tasks with posix.
      sleeper.kill('SIGKILL');
      expect(again.isolation.on).toContain(IsolatorName.POSIX);
    }
  }, 15_000);
});
