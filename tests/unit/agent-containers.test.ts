import { describe, expect, it } from 'vitest';
import { AgentContainers } from '../../actors/agent/containers.js';
import type { ExecutorLaunch } from '../../actors/agent/index.js';
import { silentLogger } from '../../bus/index.js';
import type { HostCapabilities } from '../../isolation/index.js';

const noCgroups: HostCapabilities = {
  platform: 'linux',
  root: false,
  controllers: {},
  cgroupsWhyNot: 'no cgroup hierarchy with usable controllers',
  unshare: 'unshare --pid --mount-proc failed (not root)',
};

function launch(key: string, gpus: number): ExecutorLaunch {
  return {
    key,
    executorId: key,
    sandbox: `/work/frameworks/f/executors/${key}/runs/c-${key}`,
    file: {
      task: {
        taskId: key,
        name: key,
        agentId: 'a1',
        resources: [{ name: 'cpus', scalar: 0.5 }, ...(gpus ? [{ name: 'gpus', scalar: gpus }] : [])],
        command: { value: 'true' },
      },
      frameworkId: 'f',
      agentId: 'a1',
      executorId: key,
      killPolicy: { gracePeriodSeconds: 3 },
    },
  };
}

describe('the agent side of containers', () => {
  const containers = (gpus: number[]) =>
    new AgentContainers({
      agentId: 'a1',
      log: silentLogger,
      enableCfs: true,
      pidsMax: 64,
      gpus,
      probe: () => noCgroups,
    });

  it('hands the executor its container id, isolators, flags and GPUs in task.json', () => {
    const p = containers([0, 1]).prepare(launch('t1', 1));
    expect(p.ok && p.launch.file.isolation).toEqual({
      agentId: 'a1',
      containerId: 'c-t1',
      isolators: ['posix', 'filesystem/tmp'],
      cgroups: undefined,
      enableCfs: true,
      pidsMax: 64,
      gpus: [0],
      agentGpus: [0, 1],
    });
  });

  it('gives GPUs out once, refuses a task when too few are free, and frees them when its executor exits', () => {
    const c = containers([0, 1]);
    const first = c.prepare(launch('t1', 1));
    const second = c.prepare(launch('t2', 1));
    expect([first, second].map((p) => p.ok && p.launch.file.isolation?.gpus)).toEqual([[0], [1]]);
    expect(c.prepare(launch('t3', 1))).toEqual({ ok: false, message: '1 GPUs asked for, 0 free' });
    c.observe({ type: 'EXECUTOR_EXITED', key: 't1', code: 0, signal: null });
    const third = c.prepare(launch('t3', 1));
    expect(third.ok && third.launch.file.isolation?.gpus).toEqual([0]);
  });

  it('leaves CUDA_VISIBLE_DEVICES out on an agent without GPUs', () => {
    const p = containers([]).prepare(launch('t1', 0));
    expect(p.ok && p.launch.file.isolation?.gpus).toBeUndefined();
  });

  const withDocker = async (answer: true | string) => {
    const c = new AgentContainers({
      agentId: 'a1',
      log: silentLogger,
      enableCfs: false,
      gpus: [],
      probe: () => noCgroups,
      dockerSocket: '/run/test-docker.sock',
      probeDocker: async () => answer,
    });
    await c.detectDocker();
    return c;
  };
  const dockerLaunch = (key: string): ExecutorLaunch => {
    const l = launch(key, 0);
    return {
      ...l,
      file: {
        ...l.file,
        task: { ...l.file.task, container: { type: 'DOCKER', docker: { image: 'tiny:1' } } },
      },
    };
  };

  it('says at start which isolators are off and why, and whether docker is on', async () => {
    const c = await withDocker('the engine at /run/test-docker.sock does not answer (ENOENT)');
    expect(c.describe()).toBe(
      'isolation on: posix, filesystem/tmp; off: cgroups/cpu (no cgroup hierarchy with usable controllers), ' +
        'cgroups/mem (no cgroup hierarchy with usable controllers), cgroups/pids (no cgroup hierarchy with usable controllers), ' +
        'cgroups/devices (no cgroup hierarchy with usable controllers), namespaces/pid (unshare --pid --mount-proc failed (not root)); ' +
        'docker off (the engine at /run/test-docker.sock does not answer (ENOENT))',
    );
    expect(c.containerizers()).toEqual(['mesos']);
    expect((await withDocker(true)).describe()).toMatch(/; docker on$/);
    expect((await withDocker(true)).containerizers()).toEqual(['mesos', 'docker']);
  });

  it('refuses a DOCKER task on an agent without docker, saying why', async () => {
    const c = await withDocker('the engine at /run/test-docker.sock does not answer (ENOENT)');
    expect(c.prepare(dockerLaunch('d1'))).toEqual({
      ok: false,
      message:
        'docker is not available on this agent: the engine at /run/test-docker.sock does not answer (ENOENT)',
    });
    // A command task still runs there.
    expect(c.prepare(launch('t1', 0)).ok).toBe(true);
  });

  it('hands a DOCKER task the engine socket, and a command task none', async () => {
    const c = await withDocker(true);
    const d = c.prepare(dockerLaunch('d1'));
    expect(d.ok && d.launch.file.isolation?.dockerSocket).toBe('/run/test-docker.sock');
    const t = c.prepare(launch('t1', 0));
    expect(t.ok && t.launch.file.isolation?.dockerSocket).toBeUndefined();
  });
});
