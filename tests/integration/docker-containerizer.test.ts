import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../actors/agent/index.js';
import { silentLogger } from '../../bus/index.js';
import { Operator, Scheduler } from '../../frameworks/sdk/index.js';
import { DockerLabel, dockerCreateOptions } from '../../isolation/index.js';
import {
  type ContainerStatus,
  isTerminal,
  resources as R,
  type TaskInfoInput,
  type TaskState,
  type TaskStatus,
} from '../../protocol/index.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { buildTinyImage, startTestDocker, type TestDocker, TINY_IMAGE } from '../support/docker.js';
import { alive, descendants, waitFor } from '../support/processes.js';

type Task = Omit<TaskInfoInput, 'resources' | 'name'>;

/**
 * FrameworkRun is one framework on the SDK that launches tasks as offers come, and records every
 * update and each task's streamed output.
 */
async function startFramework(cluster: TestCluster) {
  const updates: TaskStatus[] = [];
  /** Per `taskId/stream`, what the task wrote. */
  const output = new Map<string, string>();
  const queue: Task[] = [];
  const scheduler = await Scheduler.start({
    nats: await cluster.nats.bus('framework'),
    prefix: cluster.nats.prefix,
    framework: { name: 'docker-test', roles: ['*'] },
    log: silentLogger,
  });
  scheduler.on('update', (s) => void updates.push(s));
  scheduler.on('offers', (offers) => {
    for (const offer of offers) {
      const tasks = queue.splice(0);
      // A framework torn down while offers are in flight is told so: nothing to do then.
      if (tasks.length === 0) void scheduler.decline([offer.id], { refuseSeconds: 0.2 }).catch(() => {});
      else
        void scheduler
          .launch(
            offer,
            tasks.map((t) => ({ ...t, name: t.taskId, resources: R.parseResources('cpus:0.2;mem:32') })),
            { refuseSeconds: 0.2 },
          )
          .catch(() => {});
    }
  });
  await scheduler.subscribed();
  const latest = (taskId: string) => updates.filter((u) => u.taskId === taskId).at(-1);
  return {
    scheduler,
    updates,
    output,
    latest,
    launch(task: Task) {
      scheduler.followOutput(task.taskId, (chunk) => {
        const key = `${task.taskId}/${chunk.stream}`;
        output.set(key, (output.get(key) ?? '') + Buffer.from(chunk.data).toString());
      });
      queue.push(task);
      void scheduler.revive().catch(() => {});
    },
    async state(taskId: string, want: (s: TaskState) => boolean, timeoutMs = 15_000): Promise<TaskStatus> {
      await waitFor(
        () => {
          const s = latest(taskId)?.state;
          return s !== undefined && want(s);
        },
        timeoutMs,
        `${taskId} state`,
      );
      return latest(taskId) as TaskStatus;
    },
  };
}

const docker = (image: string, command: Task['command']): Pick<Task, 'container' | 'command'> => ({
  container: { type: 'DOCKER', docker: { image } },
  command,
});

/**
 * The engine of this file: the running one, or a dockerd started here (root), or why there is
 * none (then the tests below check that DOCKER tasks fail clearly instead).
 */
const engine: TestDocker = await startTestDocker();

describe('DOCKER tasks on a real agent', () => {
  let cluster: TestCluster;
  let fw: Awaited<ReturnType<typeof startFramework>>;

  beforeAll(async () => {
    if (engine.available) await buildTinyImage(engine.docker);
    cluster = await startTestCluster({
      agent: {
        // Without an engine, a socket where none can be (the host's might run one after all).
        dockerSocket: engine.available ? engine.socketPath : '/nonexistent/docker.sock',
        defaultKillGracePeriodSeconds: 1,
        statusUpdateRetryMs: 300,
      },
    });
    fw = await startFramework(cluster);
  }, 60_000);

  afterAll(async () => {
    await fw?.scheduler.teardown().catch(() => {});
    await cluster?.stop();
    // Nothing the agent ran is left in the engine.
    if (engine.available) {
      const left = await engine.docker.listContainers({
        all: true,
        filters: { label: [`${DockerLabel.AGENT}=${cluster.agent.agentId}`] },
      });
      expect(left).toEqual([]);
    }
    await engine.stop();
  }, 30_000);

  it('advertises docker only when the engine answers', () => {
    expect(cluster.agent.containerizers).toEqual(engine.available ? ['mesos', 'docker'] : ['mesos']);
  });

  it('fails a DOCKER task with a clear reason on an agent without docker', async () => {
    const noDocker = await startTestCluster({
      agent: { probeDocker: async () => 'the engine at /nowhere does not answer (ENOENT)' },
    });
    try {
      expect(noDocker.agent.containerizers).toEqual(['mesos']);
      const f = await startFramework(noDocker);
      f.launch({ taskId: 'no-docker', ...docker(TINY_IMAGE, { shell: false, argv: ['echo', 'hi'] }) });
      const end = await f.state('no-docker', isTerminal);
      expect(end).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED' });
      expect(end.message).toMatch(/docker is not available on this agent/);
      await f.scheduler.teardown();
    } finally {
      await noDocker.stop();
    }
  });

  describe.runIf(engine.available)('with a Docker engine', () => {
    it('runs echo from the image, streams its output and reports TASK_FINISHED', async () => {
      fw.launch({
        taskId: 'echo',
        ...docker(TINY_IMAGE, { shell: false, argv: ['echo', 'hello from a container'] }),
      });
      const end = await fw.state('echo', isTerminal);
      expect(end).toMatchObject({ state: 'TASK_FINISHED', exitCode: 0 });
      expect(fw.updates.filter((u) => u.taskId === 'echo').map((u) => u.state)).toEqual([
        'TASK_STARTING',
        'TASK_RUNNING',
        'TASK_FINISHED',
      ]);
      await waitFor(
        () => fw.output.get('echo/stdout') === 'hello from a container\n',
        5000,
        'the streamed output',
      );
      // The same bytes are in the sandbox, which the container saw as /mnt/mesos/sandbox.
      const runs = join(cluster.workDir, 'frameworks', fw.scheduler.frameworkId, 'executors', 'echo', 'runs');
      const [run] = readdirSync(runs);
      expect(readFileSync(join(runs, run, 'stdout'), 'utf8')).toBe('hello from a container\n');
    });

    it('reports a failing shell command as TASK_FAILED with its exit code, its env and sandbox set', async () => {
      fw.launch({
        taskId: 'fails',
        ...docker(TINY_IMAGE, {
          value: 'echo "$GREETING from $PWD"; echo oops >&2; exit 7',
          env: { GREETING: 'hi' },
        }),
      });
      const end = await fw.state('fails', isTerminal);
      expect(end).toMatchObject({ state: 'TASK_FAILED', exitCode: 7 });
      expect(end.message).toBe('Command exited with status 7');
      await waitFor(
        () =>
          fw.output.get('fails/stdout') === 'hi from /mnt/mesos/sandbox\n' &&
          fw.output.get('fails/stderr') === 'oops\n',
        5000,
        'the output of both streams',
      );
    });

    it('fails a task whose image is not on the agent quickly, with the reason', async () => {
      const t0 = Date.now();
      fw.launch({ taskId: 'no-image', ...docker('mezzo-test/absent:1', { value: 'true' }) });
      const end = await fw.state('no-image', isTerminal);
      expect(end).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED' });
      expect(end.message).toMatch(/^image mezzo-test\/absent:1 is not present on this agent/);
      expect(Date.now() - t0).toBeLessThan(10_000);
    });

    it('kills a long-running container (SIGTERM, then SIGKILL after the grace) and removes it', async () => {
      // dash as pid 1's child ignores nothing: sleep dies of the SIGTERM docker-init passes on.
      fw.launch({ taskId: 'sleeper', ...docker(TINY_IMAGE, { shell: false, argv: ['sleep', '60'] }) });
      await fw.state('sleeper', (s) => s === 'TASK_RUNNING');
      if (!engine.available) throw new Error(engine.why);
      const labelled = () =>
        engine.available
          ? engine.docker.listContainers({
              all: true,
              filters: { label: [`${DockerLabel.TASK}=sleeper`] },
            })
          : Promise.resolve([]);
      expect(await labelled()).toHaveLength(1);
      const t0 = Date.now();
      await fw.scheduler.kill('sleeper');
      const end = await fw.state('sleeper', isTerminal);
      expect(end.state).toBe('TASK_KILLED');
      expect(Date.now() - t0).toBeLessThan(5000);
      await waitFor(async () => (await labelled()).length === 0, 5000, 'the container to be removed');
    });

    it("reports a running container's statistics from the engine through GET_CONTAINERS", async () => {
      fw.launch({ taskId: 'measured', ...docker(TINY_IMAGE, { shell: false, argv: ['sleep', '60'] }) });
      await fw.state('measured', (s) => s === 'TASK_RUNNING');
      const op = new Operator(await cluster.nats.bus('operator'), cluster.subjects);
      let stats: ContainerStatus | undefined;
      await waitFor(
        async () => {
          stats = (await op.containers()).containers.find((c) => c.taskId === 'measured');
          return stats?.statistics.processes !== undefined;
        },
        10_000,
        'statistics of the container',
      );
      expect(stats).toMatchObject({ containerizer: 'docker', agentId: cluster.agent.agentId });
      expect(stats?.statistics).toMatchObject({ cpusLimit: 0.2, memLimitBytes: 32 * 1024 * 1024 });
      expect(stats?.statistics.processes).toBeGreaterThanOrEqual(1);
      expect(stats?.statistics.cpusUserTimeSecs).toBeGreaterThanOrEqual(0);
      await fw.scheduler.kill('measured');
      expect((await fw.state('measured', isTerminal)).state).toBe('TASK_KILLED');
    });

    it('fails a program the image does not have: the init says so on stderr, exit 127', async () => {
      // docker-init (pid 1) is what the engine starts; it is the one that cannot exec the program.
      fw.launch({ taskId: 'no-program', ...docker(TINY_IMAGE, { shell: false, argv: ['no-such-program'] }) });
      const end = await fw.state('no-program', isTerminal);
      expect(end).toMatchObject({ state: 'TASK_FAILED', exitCode: 127 });
      await waitFor(() => /no-such-program/.test(fw.output.get('no-program/stderr') ?? ''), 5000, 'stderr');
    });

    it('fails a container OOM-killed at its mem limit with REASON_CONTAINER_LIMITATION_MEMORY', async () => {
      // dash keeps the whole output of a command substitution in memory (less NUL bytes: not /dev/zero).
      fw.launch({ taskId: 'hog', ...docker(TINY_IMAGE, { value: 'x=$(cat /dev/urandom); echo never' }) });
      const end = await fw.state('hog', isTerminal);
      expect(end).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LIMITATION_MEMORY' });
      expect(end.message).toMatch(/Memory limit exceeded: Requested: 32MB/);
    });

    it('removes the container of an executor that died (SIGKILL) with it', async () => {
      fw.launch({ taskId: 'orphaned', ...docker(TINY_IMAGE, { shell: false, argv: ['sleep', '60'] }) });
      await fw.state('orphaned', (s) => s === 'TASK_RUNNING');
      if (!engine.available) throw new Error(engine.why);
      const api = engine.docker;
      const labelled = () =>
        api.listContainers({ all: true, filters: { label: [`${DockerLabel.TASK}=orphaned`] } });
      expect(await labelled()).toHaveLength(1);
      // The executor runs in the task's sandbox, .../executors/orphaned/runs/<containerId>.
      const executor = descendants(process.pid).find((pid) => {
        try {
          return readlinkSync(`/proc/${pid}/cwd`).includes('/executors/orphaned/runs/');
        } catch {
          return false;
        }
      });
      expect(executor).toBeDefined();
      process.kill(executor as number, 'SIGKILL');
      const end = await fw.state('orphaned', isTerminal);
      expect(end).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED' });
      await waitFor(async () => (await labelled()).length === 0, 5000, 'the orphaned container to go');
      expect(alive(executor as number)).toBe(false);
    });

    it('a restarted agent removes the containers a crashed run of it left', async () => {
      if (!engine.available) throw new Error(engine.why);
      const api = engine.docker;
      const workDir = mkdtempSync(join(tmpdir(), 'mezzo-docker-recover-'));
      const config = { workDir, natsUrl: cluster.nats.url, resources: 'cpus:1;mem:256;disk:256' };
      try {
        const first = await startAgent({
          bus: await cluster.nats.bus('agent-r1'),
          subjects: cluster.subjects,
          log: silentLogger,
          config,
        });
        const agentId = first.agentId;
        await first.stop();
        // What a crashed run leaves: a running container labelled with the agent's id.
        const left = await api.createContainer(
          dockerCreateOptions({
            image: TINY_IMAGE,
            shell: false,
            argv: ['sleep', '60'],
            env: {},
            cpus: 0.1,
            memMb: 32,
            sandbox: workDir,
            agentId,
            frameworkId: 'f-crashed',
            taskId: 't-crashed',
            executorId: 't-crashed',
            containerId: `crashed-${Date.now()}`,
          }),
        );
        await left.start();
        const mine = () =>
          api.listContainers({ all: true, filters: { label: [`${DockerLabel.AGENT}=${agentId}`] } });
        expect(await mine()).toHaveLength(1);
        const second = await startAgent({
          bus: await cluster.nats.bus('agent-r2'),
          subjects: cluster.subjects,
          log: silentLogger,
          config,
        });
        expect(second.agentId).toBe(agentId);
        expect(await mine()).toEqual([]);
        await second.stop();
      } finally {
        rmSync(workDir, { recursive: true, force: true });
      }
    });

    describe('mezzo run --image against mezzo up', () => {
      const MEZZO = resolve('dist/cli/main.js');
      let data: string;
      let up: ChildProcess;
      let upOut = '';

      /** mezzo runs one CLI command against this cluster; `onSpawn` sees the child. */
      const mezzo = (args: string[], onSpawn?: (c: ChildProcess) => void) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
          const child = spawn(process.execPath, [MEZZO, ...args], {
            env: { ...process.env, MEZZO_DATA: data, MEZZO_NATS_URL: '', MEZZO_LOG_LEVEL: 'warn' },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d) => (stdout += d));
          child.stderr.on('data', (d) => (stderr += d));
          const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
          child.on('exit', (code) => {
            clearTimeout(timer);
            done({ code, stdout, stderr });
          });
          onSpawn?.(child);
        });

      beforeAll(async () => {
        data = mkdtempSync(join(tmpdir(), 'mezzo-docker-e2e-'));
        up = spawn(process.execPath, [MEZZO, 'up', '--agents', '1', '--data', data], {
          env: { ...process.env, MEZZO_LOG_LEVEL: 'warn' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        up.stdout?.on('data', (d) => (upOut += d));
        up.stderr?.on('data', (d) => (upOut += d));
        await waitFor(
          () => /mezzo ready nats=\S+ agents=1/.test(upOut),
          30_000,
          `the ready line; got: ${upOut}`,
        );
      }, 40_000);

      afterAll(async () => {
        if (up.exitCode === null) up.kill('SIGTERM');
        await waitFor(() => up.exitCode !== null, 20_000, 'mezzo up to exit').catch(() => up.kill('SIGKILL'));
        rmSync(data, { recursive: true, force: true });
      }, 30_000);

      it('runs echo in the image, prints its output and exits 0', async () => {
        const r = await mezzo(['run', '--image', TINY_IMAGE, '--', 'echo', 'hi']);
        expect(r.stdout).toBe('hi\n');
        expect(r.stderr).toContain('TASK_FINISHED');
        expect(r.code).toBe(0);
      });

      it('exits with the code of a failing command in the image', async () => {
        const r = await mezzo([
          'run',
          '--image',
          TINY_IMAGE,
          '--',
          'sh',
          '-c',
          'echo out; echo err >&2; exit 7',
        ]);
        expect(r.stdout).toBe('out\n');
        expect(r.stderr).toContain('err\n');
        expect(r.code).toBe(7);
      });

      it('is killed cleanly by mezzo kill: TASK_KILLED and the container removed', async () => {
        if (!engine.available) throw new Error(engine.why);
        const api = engine.docker;
        const running = mezzo(['run', '--image', TINY_IMAGE, '--name', 'napper', '--', 'sleep', '60']);
        const napper = async () =>
          (await api.listContainers({ all: true })).filter((c) =>
            c.Labels[DockerLabel.TASK]?.startsWith('napper-'),
          );
        await waitFor(
          async () => (await napper()).some((c) => c.State === 'running'),
          15_000,
          'the container',
        );
        const [c] = await napper();
        const k = await mezzo(['kill', c.Labels[DockerLabel.TASK]]);
        expect(k.code).toBe(0);
        const r = await running;
        expect(r.stderr).toContain('TASK_KILLED');
        expect(r.code).not.toBe(0);
        await waitFor(async () => (await napper()).length === 0, 5000, 'the container to be removed');
      });
    });
  });
});
