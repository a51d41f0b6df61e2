import { describe, expect, it } from 'vitest';
import { createAgentContext, type TaskRecord } from '../../actors/agent/agent-state.js';
import { containerStatuses } from '../../actors/agent/container-status.js';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { defaultMasterConfig } from '../../actors/master/config.js';
import { gatherContainers } from '../../actors/master/container-relay.js';
import { containerTargets } from '../../actors/master/containers.js';
import { createMasterState } from '../../actors/master/state.js';
import { BusError, silentLogger } from '../../bus/index.js';
import { bytes, topRows, topTable } from '../../cli/top.js';
import { FakeBus } from '../../frameworks/sdk/index.js';
import { dockerUsage } from '../../isolation/index.js';
import { type ContainerStatus, subjects as makeSubjects, resources as R } from '../../protocol/index.js';

const container = (
  taskId: string,
  t: number,
  user: number,
  sys: number,
  extra: object = {},
): ContainerStatus => ({
  agentId: 'a1',
  frameworkId: 'f1',
  executorId: `e-${taskId}`,
  taskId,
  containerId: `c-${taskId}`,
  containerizer: 'mesos',
  statistics: { timestamp: t, cpusUserTimeSecs: user, cpusSystemTimeSecs: sys, ...extra },
});

describe('mezzo top rows', () => {
  it('computes cpus used between two samples of the same container', () => {
    const [row] = topRows([container('t', 100, 10, 2)], [container('t', 102, 10.3, 2.1)]);
    expect(row.cpus).toBeCloseTo(0.2);
  });

  it('has no rate for a container first seen, or when the clock did not move', () => {
    expect(topRows(undefined, [container('t', 100, 1, 0)])[0].cpus).toBeUndefined();
    expect(topRows([container('u', 99, 0, 0)], [container('t', 100, 1, 0)])[0].cpus).toBeUndefined();
    expect(topRows([container('t', 100, 1, 0)], [container('t', 100, 2, 0)])[0].cpus).toBeUndefined();
  });

  it('never shows a negative rate (a restarted container with the same id)', () => {
    expect(topRows([container('t', 100, 50, 0)], [container('t', 101, 1, 0)])[0].cpus).toBe(0);
  });

  it('counts throttled periods between samples and keeps levels from the last sample', () => {
    const [row] = topRows(
      [container('t', 1, 0, 0, { cpusNrThrottled: 10 })],
      [
        container('t', 2, 0, 0, {
          cpusNrThrottled: 25,
          memRssBytes: 3 * 1024 * 1024,
          processes: 2,
          cpusLimit: 0.2,
        }),
      ],
    );
    expect(row).toMatchObject({ throttled: 15, memRssBytes: 3 * 1024 * 1024, processes: 2, cpusLimit: 0.2 });
  });

  it('writes sizes in binary units and lays rows out busiest first', () => {
    expect(bytes(undefined)).toBe('-');
    expect(bytes(512)).toBe('512 B');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(bytes(2 * 1024 ** 3)).toBe('2 GiB');
    const rows = topRows(
      [container('idle', 1, 0, 0), container('busy', 1, 0, 0)],
      [container('idle', 2, 0.01, 0), container('busy', 2, 0.9, 0)],
    );
    const text = topTable(rows);
    expect(text.indexOf('busy')).toBeLessThan(text.indexOf('idle'));
    expect(text).toContain('0.90');
    expect(topTable([])).toBe('no running containers');
  });
});

const register = (id: string) => ({
  type: 'REGISTER' as const,
  agent: {
    id,
    hostname: 'h',
    resources: R.parseResources('cpus:1;mem:64'),
    attributes: {},
    version: '0.1.0',
  },
  tasks: [],
  frameworks: [],
});

function masterWith(...agents: string[]) {
  const state = createMasterState(defaultMasterConfig({ masterId: 'm' }), 1000, { agentOrder: 'added' });
  for (const a of agents) handleAgentMessage(state, a, register(a), 1000);
  return state;
}

describe('which agents the master asks for containers', () => {
  it('asks every active agent, and lists unreachable ones without asking', () => {
    const state = masterWith('a1', 'a2', 'a3');
    const a2 = state.agents.get('a2');
    if (a2) a2.status = 'UNREACHABLE';
    expect(containerTargets(state, { type: 'GET_CONTAINERS' })).toEqual({ ask: ['a1', 'a3'], skip: ['a2'] });
  });

  it('asks only the agent named, and refuses an unknown or gone one', () => {
    const state = masterWith('a1', 'a2');
    expect(containerTargets(state, { type: 'GET_CONTAINERS', agentId: 'a2' })).toEqual({
      ask: ['a2'],
      skip: [],
    });
    expect(() => containerTargets(state, { type: 'GET_CONTAINERS', agentId: 'nope' })).toThrow(
      /agent nope is unknown/,
    );
    const a1 = state.agents.get('a1');
    if (a1) a1.gone = true;
    expect(() => containerTargets(state, { type: 'GET_CONTAINERS', agentId: 'a1' })).toThrow(/unknown/);
  });
});

describe('gathering containers from agents', () => {
  const subjects = makeSubjects('t.v1');

  it('merges the answers, lists agents that do not answer, and drops containers an agent claims for another', async () => {
    const bus = new FakeBus((subject) => {
      if (subject === subjects.agentOperator('a1'))
        return { containers: [container('t2', 1, 0, 0), { ...container('evil', 1, 0, 0), agentId: 'a9' }] };
      if (subject === subjects.agentOperator('a2')) throw new BusError('busy', 'UNAVAILABLE');
      return { containers: [{ ...container('t1', 1, 0, 0), agentId: 'a3' }] };
    });
    const view = await gatherContainers(
      bus,
      subjects,
      { ask: ['a1', 'a2', 'a3'], skip: ['a4'] },
      'f1',
      silentLogger,
    );
    expect(view.containers.map((c) => `${c.agentId}/${c.taskId}`)).toEqual(['a1/t2', 'a3/t1']);
    expect(view.unanswered.sort()).toEqual(['a2', 'a4']);
    expect(bus.requests.map((r) => r.call)).toEqual([
      { type: 'GET_CONTAINERS', frameworkId: 'f1' },
      { type: 'GET_CONTAINERS', frameworkId: 'f1' },
      { type: 'GET_CONTAINERS', frameworkId: 'f1' },
    ]);
  });
});

describe("an agent's containers", () => {
  const ctx = createAgentContext(
    { id: 'a1', hostname: 'h', resources: [], attributes: {}, version: '0' },
    {
      workDir: '/w',
      statusUpdateRetryMs: 1,
      statusUpdateRetryCapMs: 1,
      defaultKillGracePeriodSeconds: 1,
      registrationBackoff: { baseMs: 1, capMs: 1 },
    },
  );
  const rec = (fid: string, taskId: string, extra: Partial<TaskRecord> = {}): TaskRecord => ({
    frameworkId: fid,
    task: { taskId, name: taskId, resources: [], command: { shell: true, value: 'true', env: {} } },
    executorId: `e-${taskId}`,
    containerId: `c-${taskId}`,
    sandbox: '/s',
    status: { taskId, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', timestamp: 0 },
    executorRegistered: true,
    executorExited: false,
    taskPid: 42,
    ...extra,
  });
  const withTasks = {
    ...ctx,
    tasks: {
      'f1/b': rec('f1', 'b'),
      'f1/a': rec('f1', 'a', {
        task: {
          taskId: 'a',
          name: 'a',
          resources: [],
          command: { shell: true, value: 'true', env: {} },
          container: { type: 'DOCKER', docker: { image: 'x' } },
        },
      }),
      'f2/c': rec('f2', 'c'),
      'f1/done': rec('f1', 'done', { executorExited: true }),
    },
  };

  it('lists live containers with their statistics, measured by container id, task pid and containerizer', async () => {
    const seen: unknown[] = [];
    const list = await containerStatuses(withTasks, (cid, pid, docker) => {
      seen.push([cid, pid, docker]);
      return docker ? Promise.resolve({ timestamp: 7, processes: 1 }) : { timestamp: 7, processes: 1 };
    });
    expect(list.map((c) => [c.taskId, c.containerizer])).toEqual([
      ['a', 'docker'],
      ['b', 'mesos'],
      ['c', 'mesos'],
    ]);
    expect(list[0]).toMatchObject({
      agentId: 'a1',
      frameworkId: 'f1',
      containerId: 'c-a',
      statistics: { timestamp: 7 },
    });
    expect(seen).toContainEqual(['c-b', 42, false]);
    expect(seen).toContainEqual(['c-a', 42, true]);
  });

  it('lists only one framework when asked', async () => {
    expect((await containerStatuses(withTasks, () => ({ timestamp: 1 }), 'f2')).map((c) => c.taskId)).toEqual(
      ['c'],
    );
  });
});

describe('Docker container statistics', () => {
  it('maps the engine stats of a cgroup v1 host: ns cpu times, rss, throttling, pids, limits', () => {
    const u = dockerUsage(
      {
        cpu_stats: {
          cpu_usage: { total_usage: 3e9, usage_in_usermode: 2e9, usage_in_kernelmode: 5e8 },
          throttling_data: { throttled_periods: 12 },
        },
        memory_stats: { usage: 9_000_000, limit: 2 ** 62, stats: { rss: 4_000_000, cache: 5_000_000 } },
        pids_stats: { current: 3 },
      },
      { NanoCpus: 200_000_000, Memory: 32 * 1024 * 1024 },
      5000,
    );
    expect(u).toEqual({
      timestamp: 5,
      cpusUserTimeSecs: 2,
      cpusSystemTimeSecs: 0.5,
      cpusNrThrottled: 12,
      memRssBytes: 4_000_000,
      memLimitBytes: 32 * 1024 * 1024,
      cpusLimit: 0.2,
      processes: 3,
    });
  });

  it('maps cgroup v2 stats (anon memory, quota/period limits) and ignores an unlimited memory limit', () => {
    const u = dockerUsage(
      {
        cpu_stats: { cpu_usage: { total_usage: 1e9 } },
        memory_stats: { usage: 10, limit: 2 ** 63, stats: { anon: 7, file: 3 } },
      },
      { CpuQuota: 50_000, CpuPeriod: 100_000 },
      1000,
    );
    expect(u).toEqual({ timestamp: 1, cpusUserTimeSecs: 1, memRssBytes: 7, cpusLimit: 0.5 });
  });

  it('falls back to usage minus cache when the engine gives no rss, and to nothing when it gives nothing', () => {
    expect(dockerUsage({ memory_stats: { usage: 10, stats: { cache: 4 } } }, {}, 0).memRssBytes).toBe(6);
    expect(dockerUsage({}, {}, 2000)).toEqual({ timestamp: 2 });
  });
});
