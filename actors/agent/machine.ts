import { assign, fromPromise, setup } from 'xstate';
import {
  AgentCapability,
  type AgentToExecutor,
  type AgentToMasterInput,
  ErrorCode,
  type ExecutorToAgent,
  type MasterToAgent,
  type Registered,
} from '../../protocol/index.js';
import { backoffMs, notProvided } from '../common/index.js';
import { type AgentContext, liveTasks, type Step, unchanged } from './agent-state.js';
import { type CheckpointOp, checkpointOps } from './checkpoint.js';
import type { ExecutorLaunch, Signal } from './effects.js';
import { executorExited, executorMessage } from './executor-messages.js';
import { masterMessage } from './master-messages.js';
import { executorReattached, reregistrationTimeout } from './recovery.js';
import { type RegistrationRequest, reregistrationRequest } from './registration.js';
import { forwardAll, retryUpdate } from './status-forwarding.js';
import * as Q from './status-update-queue.js';
import { killAll, killEscalation, reapAll, stopGraceMs } from './task-kill.js';
import { executorLaunchFailed, executorSpawned } from './task-launch.js';

/**
 * AgentEvent is everything the agent actor reacts to. The runtime stamps events that may make a
 * status update with `now` and a fresh `uuid`; RETRY_UPDATE and KILL_ESCALATION are the machine's
 * own delayed events.
 */
export type AgentEvent =
  | { type: 'MASTER_MESSAGE'; now: number; uuid: string; msg: MasterToAgent }
  /** `taskStartTime`: the start time of a REGISTER's pid, read by the runtime. */
  | { type: 'EXECUTOR_MESSAGE'; now: number; msg: ExecutorToAgent; taskStartTime?: string }
  | { type: 'EXECUTOR_SPAWNED'; key: string; pid: number; startTime?: string }
  | { type: 'EXECUTOR_LAUNCH_FAILED'; key: string; message: string; now: number; uuid: string }
  | {
      type: 'EXECUTOR_EXITED';
      key: string;
      code: number | null;
      signal: string | null;
      /** Words the end when the exit status is unknown (an executor of the agent's previous run). */
      message?: string;
      now: number;
      uuid: string;
    }
  | { type: 'STOP' }
  | { type: 'RETRY_UPDATE'; key: string; uuid: string }
  | { type: 'KILL_ESCALATION'; key: string }
  /** The runtime took back a live executor of the previous run (recovery). */
  | { type: 'EXECUTOR_REATTACHED'; key: string }
  | { type: 'REREGISTRATION_TIMEOUT'; key: string };

/** route is the agent's routing table: each event to its pure handler. */
export function route(c: AgentContext, e: AgentEvent): Step {
  switch (e.type) {
    case 'MASTER_MESSAGE':
      return masterMessage(c, e.msg, e.now, e.uuid);
    case 'EXECUTOR_MESSAGE':
      return executorMessage(c, e.msg, e.taskStartTime);
    case 'EXECUTOR_SPAWNED':
      return executorSpawned(c, e.key, e.pid, e.startTime);
    case 'EXECUTOR_LAUNCH_FAILED':
      return executorLaunchFailed(c, e.key, e.message, e.now, e.uuid);
    case 'EXECUTOR_EXITED':
      return executorExited(c, e.key, e.code, e.signal, e.now, e.uuid, e.message);
    case 'RETRY_UPDATE':
      return retryUpdate(c, e.key, e.uuid);
    case 'KILL_ESCALATION':
      return killEscalation(c, e.key);
    case 'EXECUTOR_REATTACHED':
      return executorReattached(c, e.key);
    case 'REREGISTRATION_TIMEOUT':
      return reregistrationTimeout(c, e.key);
    default:
      return unchanged(c);
  }
}

const retryId = (key: string) => `retry:${key}`;
const killId = (key: string) => `kill:${key}`;

const agentSetup = setup({
  types: {
    context: {} as AgentContext,
    events: {} as AgentEvent,
    input: {} as AgentContext,
  },
  actors: {
    /** Sends REGISTER and resolves with the master's answer. */
    register: fromPromise<Registered, RegistrationRequest>(() => notProvided('register')),
  },
  actions: {
    sendToMaster: (_, _p: { message: AgentToMasterInput }) => notProvided('sendToMaster'),
    sendToExecutor: (_, _p: { executorId: string; message: AgentToExecutor }) =>
      notProvided('sendToExecutor'),
    spawnExecutor: (_, _p: { launch: ExecutorLaunch }) => notProvided('spawnExecutor'),
    signalProcessGroup: (_, _p: { pgid: number; signal: Signal }) => notProvided('signalProcessGroup'),
    warn: (_, _p: { message: string; fields?: Record<string, unknown> }) => notProvided('warn'),
    /** Writes (atomically) and removes task checkpoints; runs before the other effects of its step. */
    checkpoint: (_, _p: { ops: CheckpointOp[] }) => notProvided('checkpoint'),
  },
  guards: {
    isShutdown: ({ event }) => event.type === 'MASTER_MESSAGE' && event.msg.type === 'SHUTDOWN',
    isReregister: ({ event }) => event.type === 'MASTER_MESSAGE' && event.msg.type === 'REREGISTER',
    allExecutorsExited: ({ context }) => liveTasks(context).length === 0,
    flushed: ({ context }) => !context.connected || Q.isDrained(context.updates),
  },
  delays: {
    registrationBackoff: ({ context }) =>
      backoffMs(Math.max(0, context.registrationFailures - 1), context.settings.registrationBackoff),
    heartbeatInterval: ({ context }) => context.heartbeatIntervalMs,
    stopGrace: ({ context }) => stopGraceMs(context),
    reapTimeout: 1000,
    flushTimeout: 1000,
  },
});

type Enqueue = Parameters<Parameters<typeof agentSetup.enqueueActions>[0]>[0]['enqueue'];

/** perform assigns a step's state and turns its effects into named actions and delayed events. */
function perform(enqueue: Enqueue, context: AgentContext, step: Step): void {
  if (step.state !== context) enqueue.assign(() => step.state);
  // On disk before anything leaves: an executor is ACKed only once its update is checkpointed.
  const ops = checkpointOps(context, step.state);
  if (ops.length > 0) enqueue({ type: 'checkpoint', params: { ops } });
  for (const e of step.effects) {
    switch (e.kind) {
      case 'sendToMaster':
        enqueue({ type: 'sendToMaster', params: { message: e.message } });
        break;
      case 'sendToExecutor':
        enqueue({ type: 'sendToExecutor', params: { executorId: e.executorId, message: e.message } });
        break;
      case 'spawnExecutor':
        enqueue({ type: 'spawnExecutor', params: { launch: e.launch } });
        break;
      case 'signalProcessGroup':
        enqueue({ type: 'signalProcessGroup', params: { pgid: e.pgid, signal: e.signal } });
        break;
      case 'warn':
        enqueue({ type: 'warn', params: { message: e.message, fields: e.fields } });
        break;
      case 'scheduleRetry':
        enqueue.cancel(retryId(e.key));
        enqueue.raise(
          { type: 'RETRY_UPDATE', key: e.key, uuid: e.uuid },
          { id: retryId(e.key), delay: e.delayMs },
        );
        break;
      case 'cancelRetry':
        enqueue.cancel(retryId(e.key));
        break;
      case 'scheduleKillEscalation':
        enqueue.cancel(killId(e.key));
        enqueue.raise({ type: 'KILL_ESCALATION', key: e.key }, { id: killId(e.key), delay: e.delayMs });
        break;
      case 'cancelKillEscalation':
        enqueue.cancel(killId(e.key));
        break;
      case 'scheduleReregistrationTimeout':
        enqueue.raise(
          { type: 'REREGISTRATION_TIMEOUT', key: e.key },
          { id: `reregister:${e.key}`, delay: e.delayMs },
        );
        break;
    }
  }
}

/** handle runs the routed handler of the current event. */
const handle = agentSetup.enqueueActions(({ context, event, enqueue }) =>
  perform(enqueue, context, route(context, event)),
);
/** act runs a handler that needs only the context. */
const act = (handler: (c: AgentContext) => Step) =>
  agentSetup.enqueueActions(({ context, enqueue }) => perform(enqueue, context, handler(context)));

/**
 * agentMachine is the agent's life cycle: register (backing off on failure), heartbeat while
 * registered, re-register when the master asks, and on STOP or the master's SHUTDOWN kill every
 * task, wait for the executors, SIGKILL stragglers, flush updates briefly and unregister. Task and
 * status-update events are handled in every state by the pure handlers behind `route`.
 */
export const agentMachine = agentSetup.createMachine({
  id: 'agent',
  context: ({ input }) => input,
  initial: 'registering',
  on: {
    MASTER_MESSAGE: [
      { guard: 'isShutdown', target: '.stopping' },
      // Only `registered` and `backoff` act on REREGISTER; elsewhere it changes nothing.
      { guard: 'isReregister' },
      { actions: handle },
    ],
    EXECUTOR_MESSAGE: { actions: handle },
    EXECUTOR_SPAWNED: { actions: handle },
    EXECUTOR_LAUNCH_FAILED: { actions: handle },
    EXECUTOR_EXITED: { actions: handle },
    RETRY_UPDATE: { actions: handle },
    KILL_ESCALATION: { actions: handle },
    EXECUTOR_REATTACHED: { actions: handle },
    REREGISTRATION_TIMEOUT: { actions: handle },
    STOP: { target: '.stopping' },
  },
  states: {
    registering: {
      entry: assign({ connected: false }),
      invoke: {
        src: 'register',
        input: ({ context }) => reregistrationRequest(context),
        onDone: {
          target: 'registered',
          actions: assign(({ event }) => ({
            connected: true,
            masterId: event.output.masterId,
            masterTakesDigest: !!event.output.capabilities?.includes(AgentCapability.TASK_DIGEST),
            sendTasks: false,
            heartbeatIntervalMs: event.output.heartbeatIntervalSeconds * 1000,
            registrationFailures: 0,
          })),
        },
        onError: [
          {
            // Not a failure: the new master has no matching copy of the tasks; send them in full now.
            guard: ({ event }) => (event.error as { code?: string })?.code === ErrorCode.DIGEST_MISMATCH,
            target: 'registering',
            reenter: true,
            actions: assign({ sendTasks: true }),
          },
          {
            target: 'backoff',
            actions: [
              assign(({ context }) => ({ registrationFailures: context.registrationFailures + 1 })),
              {
                type: 'warn',
                params: ({ event }) => ({
                  message: 'registration failed; backing off',
                  fields: { reason: (event.error as Error)?.message ?? String(event.error) },
                }),
              },
            ],
          },
        ],
      },
    },
    backoff: {
      after: { registrationBackoff: 'registering' },
      on: { MASTER_MESSAGE: { guard: 'isReregister', target: 'registering' } },
    },
    registered: {
      entry: act(forwardAll),
      initial: 'beating',
      states: {
        beating: {
          after: {
            heartbeatInterval: {
              target: 'beating',
              reenter: true,
              actions: { type: 'sendToMaster', params: { message: { type: 'HEARTBEAT' } } },
            },
          },
        },
      },
      on: { MASTER_MESSAGE: { guard: 'isReregister', target: 'registering' } },
    },
    stopping: {
      entry: [assign({ stopping: true }), act(killAll)],
      initial: 'draining',
      on: {
        STOP: {},
        MASTER_MESSAGE: [{ guard: 'isShutdown' }, { guard: 'isReregister' }, { actions: handle }],
      },
      states: {
        draining: {
          always: { guard: 'allExecutorsExited', target: 'flushing' },
          after: { stopGrace: 'reaping' },
        },
        reaping: {
          entry: act(reapAll),
          always: { guard: 'allExecutorsExited', target: 'flushing' },
          after: { reapTimeout: 'flushing' },
        },
        flushing: {
          always: { guard: 'flushed', target: 'unregistering' },
          after: { flushTimeout: 'unregistering' },
        },
        unregistering: {
          entry: agentSetup.enqueueActions(({ context, enqueue }) => {
            if (context.connected)
              enqueue({ type: 'sendToMaster', params: { message: { type: 'UNREGISTER' } } });
          }),
          always: '#agent.stopped',
        },
      },
    },
    stopped: { type: 'final' },
  },
});
