import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startMaster } from '../../actors/master/index.js';
import { DURATION_LABEL, startSimulator } from '../../actors/simulator/index.js';
import { connectNats, NatsBus, silentLogger, startNatsServer } from '../../bus/index.js';
import { Operator } from '../../frameworks/sdk/index.js';
import {
  FrameworkInfo,
  subjects as makeSubjects,
  resources as R,
  TaskInfo,
  TaskState,
} from '../../protocol/index.js';
import { testScope } from '../support/scope.js';

const scope = testScope();

const MAX_PAYLOAD = 64 * 1024;
const AGENTS = 20;
const TASKS_PER_AGENT = 60;

describe('GET_STATE and GET_TASKS tables on a server with a small max_payload', () => {
  it('cut their pages to fit the server the master is connected to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mezzo-pagecap-'));
    const server = await startNatsServer({ dataDir: dir, maxPayloadBytes: MAX_PAYLOAD });
    scope.defer(async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const bus = async (name: string) => {
      const b = new NatsBus(
        await connectNats({ servers: server.url, name, log: silentLogger }),
        silentLogger,
      );
      scope.defer(() => b.close());
      return b;
    };
    const subjects = makeSubjects(`pagecap${process.pid}.v1`);
    const master = await startMaster({ bus: await bus('master'), subjects, log: silentLogger });
    scope.defer(() => master.stop());
    const framework = FrameworkInfo.parse({ id: 'capped', name: 'capped', failoverTimeoutSeconds: 60 });
    const sim = await startSimulator({
      bus: await bus('sim'),
      subjects,
      agents: AGENTS,
      resources: R.parseResources('cpus:64;mem:65536'),
      statusRetryMs: 600_000,
      seed: (i) =>
        Array.from({ length: TASKS_PER_AGENT }, (_, k) => ({
          framework,
          task: TaskInfo.parse({
            // Long ids make the whole state (~150 KB as a table) more than two of the server's messages.
            taskId: `capped-task-with-a-rather-long-identifier-${i}-${k}-${'x'.repeat(40)}`,
            name: 'capped',
            resources: R.parseResources('cpus:0.1;mem:16'),
            command: { value: 'true' },
            labels: { [DURATION_LABEL]: 'forever' },
          }),
          state: TaskState.RUNNING,
        })),
    });
    scope.defer(() => sim.stop());
    await sim.whenRegistered();
    const total = AGENTS * TASKS_PER_AGENT;
    const op = await Operator.connect({ nats: await bus('op'), prefix: subjects.prefix });
    await expect
      .poll(async () => (await op.call('GET_STATE', { maxTasks: 1, tasksAs: 'table' })).totalTasks, {
        timeout: 30_000,
      })
      .toBe(total);

    // The SDK asks for pages of 25,000 tasks; the master stops each well before the server's limit.
    const pageRows: number[] = [];
    const state = await op.stateRows({ onPage: (p) => pageRows.push(p.rows) });
    expect(pageRows.length).toBeGreaterThan(2);
    expect(pageRows.reduce((a, b) => a + b, 0)).toBe(total);
    expect(state.tasks.length).toBe(total);
    expect(new Set([...state.tasks].map((t) => t.taskId)).size).toBe(total);
    expect(state.agents.length).toBe(AGENTS);

    const tasks = await op.taskRows('capped');
    expect(tasks.length).toBe(total);
  }, 90_000);
});
