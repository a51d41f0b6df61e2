import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AgentHandle } from '../../actors/agent/index.js';
import type { NatsBus } from '../../bus/index.js';
import {
  FrameworkInfo,
  type Offer,
  OperatorCall,
  OperatorResult,
  resources as R,
  SchedulerCall,
  SchedulerEvent,
  type Subjects,
  Subscribed,
  TaskOutput,
  type TaskStatus,
} from '../../protocol/index.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import type { TestNats } from '../support/nats.js';
import { waitFor } from '../support/processes.js';

/**
 * The agent under the real master, with a framework played by hand: the master's view of the
 * protocol and the agent's must agree.
 */
describe('an agent under the real master', () => {
  let nats: TestNats;
  let s: Subjects;
  let agent: AgentHandle;
  let bus: NatsBus;
  let cluster: TestCluster;
  const frameworkId = 'fw-agent-master';
  const updates: TaskStatus[] = [];
  const offers: Offer[] = [];

  const call = <T extends z.ZodType>(c: z.input<typeof SchedulerCall>, result: T) =>
    bus.request(s.scheduler(frameworkId), SchedulerCall, c, result);

  beforeAll(async () => {
    cluster = await startTestCluster({
      master: { agentPingTimeoutSeconds: 1 },
      agent: { defaultKillGracePeriodSeconds: 1 },
    });
    ({ nats, subjects: s, agent } = cluster);
    bus = await nats.bus('framework');
    bus.listen(s.frameworkEvents(frameworkId), SchedulerEvent, (e) => {
      if (e.type === 'UPDATE') updates.push(e.status);
      if (e.type === 'OFFERS') offers.push(...e.offers);
    });
    await bus.flush();
    await call(
      { type: 'SUBSCRIBE', framework: FrameworkInfo.parse({ id: frameworkId, name: 'by hand' }) },
      Subscribed,
    );
  });
  afterAll(async () => {
    await cluster.stop();
  });

  async function launch(taskId: string, command: { value: string }): Promise<void> {
    await waitFor(() => offers.length > 0, 5000, 'an offer');
    const offer = offers.splice(0).at(-1) as Offer;
    await call(
      {
        type: 'ACCEPT',
        offerIds: [offer.id],
        operations: [
          {
            type: 'LAUNCH',
            tasks: [{ taskId, name: taskId, resources: R.parseResources('cpus:0.5;mem:32'), command }],
          },
        ],
        filters: { refuseSeconds: 0 },
      },
      z.object({}),
    );
  }

  async function nextUpdate(taskId: string, seen: number): Promise<TaskStatus> {
    await waitFor(
      () => updates.filter((u) => u.taskId === taskId).length > seen,
      10_000,
      `update ${seen + 1} of ${taskId}`,
    );
    return updates.filter((u) => u.taskId === taskId)[seen];
  }

  it('runs a task to TASK_FINISHED, each update relayed only after the framework acknowledged the one before', async () => {
    const output: TaskOutput[] = [];
    bus.listen(s.taskOutput(frameworkId, 'echo-1'), TaskOutput, (o) => output.push(o));
    await bus.flush();
    await launch('echo-1', { value: 'echo hi from the agent' });
    const states: string[] = [];
    for (let i = 0; i < 3; i++) {
      const u = await nextUpdate('echo-1', i);
      states.push(u.state);
      expect(u).toMatchObject({ agentId: agent.agentId, source: 'SOURCE_EXECUTOR' });
      await call(
        { type: 'ACKNOWLEDGE', agentId: agent.agentId, taskId: 'echo-1', uuid: u.uuid as string },
        z.object({}),
      );
    }
    expect(states).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    await waitFor(() => output.some((o) => o.stream === 'stdout' && o.eof), 5000, 'the end of stdout');
    expect(Buffer.concat(output.map((o) => o.data)).toString()).toBe('hi from the agent\n');
    const { tasks } = await bus.request(
      s.operator(),
      OperatorCall,
      { type: 'GET_TASKS' },
      OperatorResult.GET_TASKS,
    );
    expect(tasks.find((t) => t.taskId === 'echo-1')?.state).toBe('TASK_FINISHED');
  });

  it("kills a task on the framework's KILL: TASK_KILLED", async () => {
    await launch('sleep-1', { value: 'exec sleep 60' });
    let seen = 0;
    let u = await nextUpdate('sleep-1', seen++);
    while (u.state !== 'TASK_RUNNING') {
      await call(
        { type: 'ACKNOWLEDGE', agentId: agent.agentId, taskId: 'sleep-1', uuid: u.uuid as string },
        z.object({}),
      );
      u = await nextUpdate('sleep-1', seen++);
    }
    await call(
      { type: 'ACKNOWLEDGE', agentId: agent.agentId, taskId: 'sleep-1', uuid: u.uuid as string },
      z.object({}),
    );
    await call({ type: 'KILL', taskId: 'sleep-1' }, z.object({}));
    const killed = await nextUpdate('sleep-1', seen++);
    expect(killed).toMatchObject({ state: 'TASK_KILLED', signal: 'SIGTERM' });
    await call(
      { type: 'ACKNOWLEDGE', agentId: agent.agentId, taskId: 'sleep-1', uuid: killed.uuid as string },
      z.object({}),
    );
  });

  it('stops: kills what runs, unregisters, and the master removes the agent', async () => {
    await launch('sleep-2', { value: 'sleep 60' });
    await waitFor(() => updates.some((u) => u.taskId === 'sleep-2'), 10_000, 'sleep-2 to start');
    await agent.stop();
    await waitFor(
      async () =>
        (
          await bus.request(s.operator(), OperatorCall, { type: 'GET_AGENTS' }, OperatorResult.GET_AGENTS)
        ).agents.find((a) => a.id === agent.agentId)?.status === 'REMOVED',
      3000,
      'the agent to be removed',
    );
    const { tasks } = await bus.request(
      s.operator(),
      OperatorCall,
      { type: 'GET_TASKS' },
      OperatorResult.GET_TASKS,
    );
    expect(tasks.find((t) => t.taskId === 'sleep-2')?.state).toMatch(/TASK_(KILLED|GONE|LOST)/);
  });
});
