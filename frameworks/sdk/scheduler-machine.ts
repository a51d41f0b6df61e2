import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import { type BackoffPolicy, exponentialMs, notProvided } from '../../actors/common/index.js';
import type { FrameworkInfoInput, SchedulerEvent, Subscribed } from '../../protocol/index.js';
import { type Acknowledgement, routeEvent, type SchedulerRoute } from './calls.js';

/** SubscribeOutcome is how one SUBSCRIBE attempt ended, as the runtime reports it. */
export type SubscribeOutcome =
  | { ok: true; subscribed: Subscribed }
  | { ok: false; retry: boolean; message: string };

/** SchedulerNotice is what the machine tells the world; the runtime turns it into handler calls. */
export type SchedulerNotice =
  | { type: 'subscribed'; subscribed: Subscribed }
  | { type: 'event'; event: Extract<SchedulerRoute, { type: 'notify' }>['event'] }
  | { type: 'disconnected'; reason: string }
  | { type: 'error'; message: string }
  | { type: 'closed'; reason: string };

/** SchedulerMachineEvent is everything the scheduler actor reacts to. */
export type SchedulerMachineEvent =
  /** An event from the master, validated by the bus. */
  | { type: 'EVENT'; event: SchedulerEvent }
  /** The NATS connection came back after a disconnect: the master may have missed us. */
  | { type: 'RECONNECTED' }
  /** A call was answered "not subscribed" (the master forgot or disconnected us). */
  | { type: 'SUBSCRIPTION_LOST'; reason: string }
  | { type: 'CLOSE'; reason?: string };

/** SchedulerContext is the scheduler's serializable state. */
export interface SchedulerContext {
  framework: FrameworkInfoInput;
  autoAcknowledge: boolean;
  /** Failed SUBSCRIBE attempts in a row. */
  attempt: number;
  /** From Subscribed; used before the first SUBSCRIBED too, for the silence watchdog. */
  heartbeatIntervalMs: number;
  subscribed?: Subscribed;
  /** Events that arrived while (re)subscribing, handed over once subscribed. */
  pending: SchedulerEvent[];
  disconnectReason: string;
  closeReason: string;
}

/** SchedulerInput starts a scheduler actor. */
export interface SchedulerInput {
  framework: FrameworkInfoInput;
  autoAcknowledge: boolean;
  heartbeatIntervalMs?: number;
}

/** SUBSCRIBE_RETRY is the (jitter-free) backoff between SUBSCRIBE attempts that got no answer. */
export const SUBSCRIBE_RETRY: BackoffPolicy = { baseMs: 500, capMs: 10_000 };

/** SILENT_INTERVALS is how many heartbeat intervals without any event make the scheduler resubscribe. */
export const SILENT_INTERVALS = 3;

const errorMessage = (event: SchedulerMachineEvent) =>
  event.type === 'EVENT' && event.event.type === 'ERROR' ? event.event.message : 'unknown error';

const base = setup({
  types: {
    context: {} as SchedulerContext,
    events: {} as SchedulerMachineEvent,
    input: {} as SchedulerInput,
  },
  actors: {
    subscribe: fromPromise<SubscribeOutcome, { framework: FrameworkInfoInput }>(() =>
      notProvided('subscribe'),
    ),
  },
  actions: {
    notify: (_, _notice: SchedulerNotice) => notProvided('notify'),
    sendHeartbeat: () => notProvided('sendHeartbeat'),
    acknowledge: (_, _ack: Acknowledgement) => notProvided('acknowledge'),
    buffer: assign({
      pending: ({ context, event }) =>
        event.type === 'EVENT' && event.event.type !== 'HEARTBEAT'
          ? [...context.pending, event.event]
          : context.pending,
    }),
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
  },
  guards: {
    isError: ({ event }) => event.type === 'EVENT' && event.event.type === 'ERROR',
  },
  delays: {
    heartbeatInterval: ({ context }) => context.heartbeatIntervalMs,
    silenceTimeout: ({ context }) => context.heartbeatIntervalMs * SILENT_INTERVALS,
    retryDelay: ({ context }) => exponentialMs(Math.max(0, context.attempt - 1), SUBSCRIBE_RETRY),
  },
});

/** dispatch hands an event from the master to the handlers, and acknowledges updates (routeEvent). */
const dispatch = base.enqueueActions(({ context, event, enqueue }) => {
  if (event.type !== 'EVENT') return;
  for (const r of routeEvent(event.event, context.autoAcknowledge)) {
    if (r.type === 'notify') enqueue({ type: 'notify', params: { type: 'event', event: r.event } });
    else enqueue({ type: 'acknowledge', params: r.ack });
  }
});

/** fail reports the master's ERROR and records it as the reason for closing. */
const fail = base.enqueueActions(({ event, enqueue }) => {
  const message = errorMessage(event);
  enqueue.assign({ closeReason: `the master sent ERROR: ${message}` });
  enqueue({ type: 'notify', params: { type: 'error', message } });
});

/**
 * subscribeCycle is one (re)subscription: call SUBSCRIBE, wait out the backoff when nobody
 * answered, and try again. Events that arrive meanwhile are kept and handed over once subscribed.
 */
const subscribeCycle = base.createStateConfig({
  initial: 'calling',
  on: {
    EVENT: [{ guard: 'isError', target: '#scheduler.closed', actions: fail }, { actions: 'buffer' }],
  },
  states: {
    calling: {
      invoke: {
        src: 'subscribe',
        input: ({ context }) => ({ framework: context.framework }),
        onDone: [
          {
            guard: ({ event }) => event.output.ok,
            target: '#scheduler.subscribed',
            actions: enqueueActions(({ context, event, enqueue }) => {
              if (!event.output.ok) return;
              const subscribed = event.output.subscribed;
              enqueue.assign({
                subscribed,
                attempt: 0,
                heartbeatIntervalMs: subscribed.heartbeatIntervalSeconds * 1000,
                pending: [],
              });
              enqueue({ type: 'notify', params: { type: 'subscribed', subscribed } });
              for (const pending of context.pending) {
                for (const r of routeEvent(pending, context.autoAcknowledge)) {
                  if (r.type === 'notify')
                    enqueue({ type: 'notify', params: { type: 'event', event: r.event } });
                  else enqueue({ type: 'acknowledge', params: r.ack });
                }
              }
            }),
          },
          {
            guard: ({ event }) => !event.output.ok && event.output.retry,
            target: 'waiting',
            actions: 'countAttempt',
          },
          {
            target: '#scheduler.closed',
            actions: enqueueActions(({ event, enqueue }) => {
              const message = event.output.ok ? 'unexpected answer' : event.output.message;
              enqueue.assign({ closeReason: `SUBSCRIBE was refused: ${message}` });
              enqueue({ type: 'notify', params: { type: 'error', message } });
            }),
          },
        ],
        onError: { target: 'waiting', actions: 'countAttempt' },
      },
    },
    waiting: { after: { retryDelay: 'calling' } },
  },
});

/**
 * schedulerMachine is a framework's life cycle with the master:
 * `subscribing -> subscribed -> (resubscribing -> subscribed)* -> closed`. It retries SUBSCRIBE
 * with backoff while nobody answers, heartbeats while subscribed, resubscribes with the same
 * FrameworkInfo after 3 silent heartbeat intervals or a reconnect, and closes on an ERROR event, a
 * refused SUBSCRIBE or CLOSE. Effects (`subscribe`, `notify`, `sendHeartbeat`, `acknowledge`) are
 * bound by the runtime with `.provide()`; timers are the machine's delays.
 */
export const schedulerMachine = base.createMachine({
  id: 'scheduler',
  context: ({ input }) => ({
    framework: input.framework,
    autoAcknowledge: input.autoAcknowledge,
    attempt: 0,
    heartbeatIntervalMs: input.heartbeatIntervalMs ?? 15_000,
    pending: [],
    disconnectReason: '',
    closeReason: '',
  }),
  initial: 'subscribing',
  on: {
    CLOSE: {
      target: '.closed',
      actions: assign({ closeReason: ({ event }) => event.reason ?? 'closed by the scheduler' }),
    },
  },
  states: {
    subscribing: subscribeCycle,
    subscribed: {
      type: 'parallel',
      on: {
        RECONNECTED: {
          target: 'resubscribing',
          actions: assign({ disconnectReason: 'the connection to NATS was re-established' }),
        },
        SUBSCRIPTION_LOST: {
          target: 'resubscribing',
          actions: assign({ disconnectReason: ({ event }) => event.reason }),
        },
      },
      states: {
        heartbeat: {
          initial: 'waiting',
          states: {
            waiting: {
              after: { heartbeatInterval: { target: 'waiting', reenter: true, actions: 'sendHeartbeat' } },
            },
          },
        },
        watchdog: {
          initial: 'listening',
          states: {
            listening: {
              after: {
                silenceTimeout: {
                  target: '#scheduler.resubscribing',
                  actions: assign({
                    disconnectReason: ({ context }) =>
                      `no event from the master for ${SILENT_INTERVALS} heartbeat intervals (${(context.heartbeatIntervalMs * SILENT_INTERVALS) / 1000} s)`,
                  }),
                },
              },
              on: {
                EVENT: [
                  { guard: 'isError', target: '#scheduler.closed', actions: fail },
                  { target: 'listening', reenter: true, actions: dispatch },
                ],
              },
            },
          },
        },
      },
    },
    resubscribing: {
      ...subscribeCycle,
      entry: enqueueActions(({ context, enqueue }) => {
        enqueue({ type: 'notify', params: { type: 'disconnected', reason: context.disconnectReason } });
      }),
    },
    closed: {
      type: 'final',
      entry: enqueueActions(({ context, enqueue }) => {
        enqueue({ type: 'notify', params: { type: 'closed', reason: context.closeReason } });
      }),
    },
  },
});
