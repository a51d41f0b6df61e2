import { assign, fromPromise, setup } from 'xstate';
import { notProvided } from '../../actors/common/index.js';
import type { Offer, Subscribed, TaskStatus } from '../../protocol/index.js';
import type { AppsCall } from './api.js';

/** AppStep is one thing a built-in framework must handle; each runs alone, in arrival order. */
export type AppStep =
  | { type: 'SUBSCRIBED'; info: Subscribed }
  | { type: 'OFFERS'; offers: Offer[] }
  | { type: 'UPDATE'; status: TaskStatus }
  | { type: 'TICK'; now: number }
  | { type: 'CALL'; call: AppsCall };

/** QueuedStep is a step with the id its outcome is reported under. */
export interface QueuedStep {
  id: number;
  step: AppStep;
}

/** AppMachineContext is the queue of steps not yet done (serializable data only). */
export interface AppMachineContext {
  queue: QueuedStep[];
  stopping: boolean;
}

/** AppMachineEvent drives the machine: the framework is ready, a step arrived, stop. */
export type AppMachineEvent = { type: 'READY' } | { type: 'ENQUEUE'; item: QueuedStep } | { type: 'STOP' };

/**
 * appMachine is a built-in framework's life cycle: `starting` until its state is loaded, then
 * `idle` / `working`, running one step at a time through the `runStep` effect (offers, status
 * updates, timer ticks and API requests all change the same state, so each sees the last one's
 * result); `stopped` once STOP arrives and the step in hand is done. Steps still queued then are
 * handed to `dropSteps`, so their callers hear that they will not run.
 */
export const appMachine = setup({
  types: { context: {} as AppMachineContext, events: {} as AppMachineEvent },
  actors: {
    runStep: fromPromise<void, QueuedStep>(() => notProvided('runStep')),
  },
  actions: {
    enqueue: assign({
      queue: ({ context, event }) =>
        event.type === 'ENQUEUE' ? [...context.queue, event.item] : context.queue,
    }),
    shift: assign({ queue: ({ context }) => context.queue.slice(1) }),
    markStopping: assign({ stopping: true }),
    dropSteps: (_, _params: { ids: number[] }) => notProvided('dropSteps'),
  },
  guards: {
    hasWork: ({ context }) => context.queue.length > 0,
    isStopping: ({ context }) => context.stopping,
  },
}).createMachine({
  id: 'app',
  context: { queue: [], stopping: false },
  initial: 'starting',
  states: {
    starting: {
      on: { READY: 'idle', ENQUEUE: { actions: 'enqueue' }, STOP: 'stopped' },
    },
    idle: {
      always: { guard: 'hasWork', target: 'working' },
      on: { ENQUEUE: { actions: 'enqueue' }, STOP: 'stopped' },
    },
    working: {
      invoke: {
        src: 'runStep',
        input: ({ context }) => context.queue[0] as QueuedStep,
        onDone: [
          { guard: 'isStopping', target: 'stopped', actions: 'shift' },
          { target: 'idle', actions: 'shift' },
        ],
        onError: [
          { guard: 'isStopping', target: 'stopped', actions: 'shift' },
          { target: 'idle', actions: 'shift' },
        ],
      },
      on: { ENQUEUE: { actions: 'enqueue' }, STOP: { actions: 'markStopping' } },
    },
    stopped: {
      type: 'final',
      entry: {
        type: 'dropSteps',
        params: ({ context }) => ({ ids: context.queue.map((q) => q.id) }),
      },
    },
  },
});
