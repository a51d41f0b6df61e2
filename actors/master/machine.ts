import { enqueueActions, setup } from 'xstate';
import type { AgentToMaster, OperatorCall, SchedulerCall } from '../../protocol/index.js';
import { handleAgentMessage } from './agent-messages.js';
import type { Effect, Outcome } from './effects.js';
import { handleOperatorCall } from './operator-calls.js';
import { handleSchedulerCall } from './scheduler-calls.js';
import type { MasterState } from './state.js';
import { runAllocation, tick } from './tick.js';

/** Replier answers the request an event came from. */
export interface Replier {
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/** MasterEvent is everything the master actor reacts to; the runtime stamps each with `now`. */
export type MasterEvent =
  | { type: 'SCHEDULER_CALL'; now: number; frameworkId: string; call: SchedulerCall; reply: Replier }
  | { type: 'AGENT_MESSAGE'; now: number; agentId: string; msg: AgentToMaster; reply: Replier }
  | { type: 'OPERATOR_CALL'; now: number; call: OperatorCall; reply: Replier }
  | { type: 'ALLOCATE'; now: number }
  | { type: 'TICK'; now: number }
  | { type: 'STOP' };

/**
 * MasterContext holds the in-memory state store the handlers work on. It is data, except the
 * allocator's incremental index inside it (see MasterState), which is why the master is never
 * snapshotted or persisted through XState: HA rebuilds it from agents and frameworks instead.
 */
export interface MasterContext {
  state: MasterState;
}

/** answer runs a handler, replies to the caller, and returns the effects to deliver (none on error). */
function answer(reply: Replier, run: () => Outcome<unknown>): Effect[] {
  let outcome: Outcome<unknown>;
  try {
    outcome = run();
  } catch (err) {
    reply.reject(err);
    return [];
  }
  reply.resolve(outcome.result);
  return outcome.effects;
}

/**
 * masterMachine routes calls, agent messages, operator calls and timer events to the pure
 * handlers and hands their effects to `deliver`, bound by the runtime.
 */
export const masterMachine = setup({
  types: {
    context: {} as MasterContext,
    events: {} as MasterEvent,
    input: {} as { state: MasterState },
  },
  actions: {
    deliver: (_, _params: { effects: Effect[] }) => {},
  },
}).createMachine({
  id: 'master',
  context: ({ input }) => ({ state: input.state }),
  initial: 'leading',
  states: {
    leading: {
      on: {
        SCHEDULER_CALL: {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const effects = answer(event.reply, () =>
              handleSchedulerCall(context.state, event.frameworkId, event.call, event.now),
            );
            enqueue({ type: 'deliver', params: { effects } });
          }),
        },
        AGENT_MESSAGE: {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const effects = answer(event.reply, () =>
              handleAgentMessage(context.state, event.agentId, event.msg, event.now),
            );
            enqueue({ type: 'deliver', params: { effects } });
          }),
        },
        OPERATOR_CALL: {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const effects = answer(event.reply, () =>
              handleOperatorCall(context.state, event.call, event.now),
            );
            enqueue({ type: 'deliver', params: { effects } });
          }),
        },
        ALLOCATE: {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const effects = runAllocation(context.state, event.now);
            enqueue({ type: 'deliver', params: { effects } });
          }),
        },
        TICK: {
          actions: enqueueActions(({ context, event, enqueue }) => {
            enqueue({ type: 'deliver', params: { effects: tick(context.state, event.now) } });
          }),
        },
        STOP: 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
});
