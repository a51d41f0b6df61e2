import { describe, expect, it } from 'vitest';
import { handleAgentMessage } from '../../actors/master/agent-messages.js';
import { defaultMasterConfig } from '../../actors/master/config.js';
import { MasterError } from '../../actors/master/effects.js';
import { handleSchedulerCall } from '../../actors/master/scheduler-calls.js';
import { createMasterState } from '../../actors/master/state.js';
import { runAllocation } from '../../actors/master/tick.js';
import { AgentToMaster, resources as R, SchedulerCall } from '../../protocol/index.js';

describe('an agent reporting status updates', () => {
  const setup = () => {
    const now = 1_000;
    const state = createMasterState(defaultMasterConfig({ masterId: 'm' }), now, { agentOrder: 'added' });
    for (const id of ['a-1', 'a-2']) {
      handleAgentMessage(
        state,
        id,
        AgentToMaster.parse({
          type: 'REGISTER',
          agent: { id, hostname: id, resources: R.parseResources('cpus:1;mem:128'), version: '0.1.0' },
        }),
        now,
      );
    }
    handleSchedulerCall(
      state,
      'f',
      SchedulerCall.parse({ type: 'SUBSCRIBE', framework: { id: 'f', name: 'f' } }),
      now,
    );
    runAllocation(state, now);
    const offer = [...state.offers.values()].find((o) => o.offer.agentId === 'a-1')?.offer;
    handleSchedulerCall(
      state,
      'f',
      SchedulerCall.parse({
        type: 'ACCEPT',
        offerIds: [offer?.id],
        operations: [
          {
            type: 'LAUNCH',
            tasks: [
              { taskId: 't', name: 't', resources: R.parseResources('cpus:0.5'), command: { value: 'true' } },
            ],
          },
        ],
      }),
      now,
    );
    return state;
  };
  const update = (agentId: string) =>
    AgentToMaster.parse({
      type: 'STATUS_UPDATE',
      update: {
        frameworkId: 'f',
        status: {
          taskId: 't',
          state: 'TASK_FINISHED',
          source: 'SOURCE_EXECUTOR',
          agentId,
          uuid: 'u',
          timestamp: 2,
        },
      },
    });

  it('refuses an update that names another agent, and neither applies nor forwards it', () => {
    const state = setup();
    expect(() => handleAgentMessage(state, 'a-2', update('a-1'), 2_000)).toThrow(MasterError);
    expect(() => handleAgentMessage(state, 'a-2', update('a-1'), 2_000)).toThrow(
      /a-2 cannot report a status update as agent a-1/,
    );
    expect(state.frameworks.get('f')?.tasks.get('t')?.status.state).toBe('TASK_STAGING');
  });

  it("does not apply an update about a task on another agent, and forwards it under the sender's own id", () => {
    const state = setup();
    const out = handleAgentMessage(state, 'a-2', update('a-2'), 2_000);
    expect(state.frameworks.get('f')?.tasks.get('t')?.status.state).toBe('TASK_STAGING');
    const forwarded = out.effects.flatMap((e) =>
      e.kind === 'framework' && e.event.type === 'UPDATE' ? [e.event.status] : [],
    );
    expect(forwarded.map((s) => s.agentId)).toEqual(['a-2']);
  });

  it("applies the task's own agent's update", () => {
    const state = setup();
    handleAgentMessage(state, 'a-1', update('a-1'), 2_000);
    expect(state.frameworks.get('f')?.tasks.has('t')).toBe(false);
  });
});
