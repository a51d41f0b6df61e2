import { setup } from 'xstate';
import { type HealthCheck, Reason, Source, TaskState } from '../../protocol/index.js';
import { exponentialMs, notProvided } from '../common/index.js';
import { firstProbeAt, type HealthCounter, recordProbe, startHealth } from './health-check.js';
import { acknowledge, type OutboxStatus, push } from './status-outbox.js';
import {
  containerLaunchFailureStatus,
  launchFailureStatus,
  type TaskLimitation,
  type TerminalStatus,
  terminalStatus,
} from './terminal-status.js';

/** ExecutorInput is who the executor is, and the moment and uuid of its first update (TASK_STARTING). */
export interface ExecutorInput {
  agentId: string;
  executorId: string;
  frameworkId: string;
  taskId: string;
  /** Grace between SIGTERM and SIGKILL for a kill that names none (a signal to the executor). */
  defaultGracePeriodSeconds: number;
  /** The task's health check, probed while it runs; absent means none. */
  healthCheck?: HealthCheck;
  /** The framework has the TASK_KILLING_STATE capability: a kill reports TASK_KILLING first. */
  taskKillingState?: boolean;
  now: number;
  uuid: string;
}

/** ExecutorContext is the executor's state: plain, serializable data. */
export interface ExecutorContext {
  agentId: string;
  executorId: string;
  frameworkId: string;
  taskId: string;
  defaultGracePeriodSeconds: number;
  /** Updates the agent has not acknowledged, oldest first; the head is in flight. */
  outbox: OutboxStatus[];
  /** How many times the head has been resent: each resend waits twice as long (resendDelayMs). */
  resendAttempts: number;
  taskPid?: number;
  killRequested: boolean;
  /** The grace period of the kill in progress. */
  gracePeriodSeconds: number;
  /** The terminal status once decided. */
  terminal?: TerminalStatus;
  healthCheck?: HealthCheck;
  /** The health check's counting, from the moment the task runs. */
  health?: HealthCounter;
  /** The health check asked for the kill: the terminal update says `healthy: false`. */
  killedByHealthCheck: boolean;
  taskKillingState: boolean;
  /** The moment and uuid of the TASK_KILLING update of the kill in progress. */
  killStamp?: { now: number; uuid: string };
}

/**
 * ExecutorEvent is what the executor reacts to; the runtime stamps events that make an update
 * with `now` and a fresh `uuid`. RESEND is the machine's own timer.
 */
export type ExecutorEvent =
  /** The task runs; `pid` is its process group, absent for a Docker task (the engine holds its process). */
  | { type: 'SPAWNED'; pid?: number; now: number; uuid: string }
  | { type: 'SPAWN_FAILED'; program: string; code?: string; message: string; now: number; uuid: string }
  /** The task's container could not be made or started (a missing image, a bad command in it). */
  | { type: 'CONTAINER_FAILED'; message: string; now: number; uuid: string }
  | {
      type: 'TASK_EXITED';
      exitCode: number | null;
      signal: string | null;
      /** A container limit the task ran into, from the isolators. */
      limitation?: TaskLimitation;
      now: number;
      uuid: string;
    }
  /** A kill; `now` and `uuid` stamp its TASK_KILLING update (for a framework that wants one). */
  | { type: 'KILL'; gracePeriodSeconds?: number; now?: number; uuid?: string }
  /** The health check is due: probe the task. */
  | { type: 'PROBE' }
  /**
   * One health probe came back. `uuid` stamps the health update it may cause, `killUuid` the
   * TASK_KILLING of the kill it may cause.
   */
  | { type: 'HEALTH_RESULT'; ok: boolean; message?: string; now: number; uuid: string; killUuid: string }
  | { type: 'ACK'; uuid: string }
  /**
   * A sign that the agent is there (its process still runs, or it spoke): in `reporting` the
   * executor waits `giveUp` from the last one before it stops waiting for acknowledgements.
   */
  | { type: 'AGENT_ALIVE' }
  /**
   * The agent does not know this executor (Mesos's ShutdownExecutor): kill the task as a KILL
   * would, and once it has ended stop waiting for acknowledgements that will never come.
   */
  | { type: 'SHUTDOWN'; now?: number; uuid?: string }
  | { type: 'RESEND' };

/** RESEND_ID names the one pending resend timer. */
const RESEND_ID = 'resend';
/** PROBE_ID names the one pending health probe timer. */
const PROBE_ID = 'probe';

/** statusOf builds one of the executor's updates. */
function statusOf(
  c: Pick<ExecutorContext, 'agentId' | 'executorId' | 'taskId'>,
  state: TaskState,
  now: number,
  uuid: string,
  extra: Partial<TerminalStatus> = {},
): OutboxStatus {
  return {
    taskId: c.taskId,
    state,
    source: Source.EXECUTOR,
    agentId: c.agentId,
    executorId: c.executorId,
    uuid,
    timestamp: now,
    ...extra,
  };
}

const executorSetup = setup({
  types: {
    context: {} as ExecutorContext,
    events: {} as ExecutorEvent,
    input: {} as ExecutorInput,
  },
  actions: {
    publishUpdate: (_, _p: { status: OutboxStatus }) => notProvided('publishUpdate'),
    publishRegister: (_, _p: { pid: number }) => notProvided('publishRegister'),
    spawnTask: () => notProvided('spawnTask'),
    signalTask: (_, _p: { signal: 'SIGTERM' | 'SIGKILL' }) => notProvided('signalTask'),
    warn: (_, _p: { message: string }) => notProvided('warn'),
    probeHealth: (_, _p: { check: HealthCheck }) => notProvided('probeHealth'),
  },
  guards: {
    killRequested: ({ context }) => context.killRequested,
    allAcknowledged: ({ context }) => context.outbox.length === 0,
    /** This probe result makes the health check kill the task. */
    healthKill: ({ context, event }) =>
      event.type === 'HEALTH_RESULT' &&
      !!context.healthCheck &&
      !!context.health &&
      recordProbe(context.healthCheck, context.health, { ok: event.ok, at: event.now }).kill,
  },
  delays: {
    resend: ({ context }) => resendDelayMs(1000, context.resendAttempts),
    killGrace: ({ context }) => context.gracePeriodSeconds * 1000,
    giveUp: 60_000,
  },
});

type Enqueue = Parameters<Parameters<typeof executorSetup.enqueueActions>[0]>[0]['enqueue'];

/**
 * resendDelayMs is how long an unacknowledged update waits before its next resend: the base
 * (1 s), doubling with each resend up to ten times the base. An agent that is slow to acknowledge
 * is usually one short of CPU, and a resend every second from each of its executors only adds to
 * its load (a burst of 1,000 tasks saw acks take up to 33 s); Mesos's agent starts at 10 s.
 */
export function resendDelayMs(baseMs: number, attempts: number): number {
  return exponentialMs(attempts, { baseMs, capMs: baseMs * 10 });
}

/** send publishes an update (`attempt` resends of it so far) and arms its resend timer. */
function send(enqueue: Enqueue, status: OutboxStatus, attempt = 0): void {
  enqueue({ type: 'publishUpdate', params: { status } });
  enqueue.assign({ resendAttempts: attempt });
  enqueue.cancel(RESEND_ID);
  enqueue.raise({ type: 'RESEND' }, { id: RESEND_ID, delay: 'resend' });
}

/** report queues an update, sending it at once if nothing is in flight. */
function report(
  enqueue: Enqueue,
  context: ExecutorContext,
  status: OutboxStatus,
  patch: Partial<ExecutorContext> = {},
): void {
  const r = push(context.outbox, status);
  enqueue.assign({ ...patch, outbox: r.outbox });
  if (r.isHead) send(enqueue, status);
}

/**
 * spawned records the task's pid, tells the agent (so it can kill the task's group) and reports
 * TASK_RUNNING. A Docker task has no pid of the executor's to give: the agent removes its container.
 */
const spawned = executorSetup.enqueueActions(({ context, event, enqueue }) => {
  if (event.type !== 'SPAWNED') return;
  if (event.pid !== undefined) enqueue({ type: 'publishRegister', params: { pid: event.pid } });
  const health = context.healthCheck ? startHealth(event.now) : undefined;
  report(enqueue, context, statusOf(context, TaskState.RUNNING, event.now, event.uuid), {
    taskPid: event.pid,
    health,
  });
  if (context.healthCheck && health && !context.killRequested) {
    enqueue.raise(
      { type: 'PROBE' },
      { id: PROBE_ID, delay: firstProbeAt(context.healthCheck, health) - event.now },
    );
  }
});

/** ended reports the terminal update of a task that exited, or could not start. */
const ended = executorSetup.enqueueActions(({ context, event, enqueue }) => {
  let terminal: TerminalStatus;
  if (event.type === 'TASK_EXITED') {
    terminal = terminalStatus({
      exitCode: event.exitCode,
      signal: event.signal,
      killRequested: context.killRequested,
      limitation: event.limitation,
    });
  } else if (event.type === 'SPAWN_FAILED') {
    terminal = launchFailureStatus(event.program, event);
  } else if (event.type === 'CONTAINER_FAILED') {
    terminal = containerLaunchFailureStatus(event.message);
  } else {
    return;
  }
  const status = statusOf(context, terminal.state, event.now, event.uuid, terminal);
  // Mesos marks the end of a task its health check killed as unhealthy.
  if (context.killedByHealthCheck) status.healthy = false;
  report(enqueue, context, status, { terminal });
});

/** requestKill remembers that the task must die, and with what grace period. */
const requestKill = executorSetup.assign(({ context, event }) => ({
  killRequested: true,
  gracePeriodSeconds:
    (event.type === 'KILL' ? event.gracePeriodSeconds : undefined) ?? context.defaultGracePeriodSeconds,
  killStamp:
    (event.type === 'KILL' || event.type === 'SHUTDOWN') &&
    event.now !== undefined &&
    event.uuid !== undefined
      ? { now: event.now, uuid: event.uuid }
      : context.killStamp,
}));

/**
 * healthResult counts a probe result: it reports a changed verdict as a TASK_RUNNING with
 * `healthy` (REASON_TASK_HEALTH_CHECK_STATUS_UPDATED), and either arms the next probe or, when the
 * check says so, asks for the kill with the task's own grace period (the `healthKill` guard then
 * moves the machine to `killing`).
 */
const healthResult = executorSetup.enqueueActions(({ context, event, enqueue }) => {
  if (event.type !== 'HEALTH_RESULT' || !context.healthCheck || !context.health) return;
  const verdict = recordProbe(context.healthCheck, context.health, { ok: event.ok, at: event.now });
  const patch: Partial<ExecutorContext> = { health: verdict.counter };
  if (verdict.kill) {
    Object.assign(patch, {
      killRequested: true,
      killedByHealthCheck: true,
      gracePeriodSeconds: context.defaultGracePeriodSeconds,
      killStamp: { now: event.now, uuid: event.killUuid },
    });
  }
  if (verdict.report) {
    const status = statusOf(context, TaskState.RUNNING, event.now, event.uuid, {
      reason: Reason.TASK_HEALTH_CHECK_STATUS_UPDATED,
      ...(event.message && !event.ok ? { message: event.message } : {}),
    });
    status.healthy = verdict.report.healthy;
    report(enqueue, context, status, patch);
  } else {
    enqueue.assign(patch);
  }
  if (!verdict.kill)
    enqueue.raise({ type: 'PROBE' }, { id: PROBE_ID, delay: verdict.nextProbeAt - event.now });
});

/**
 * killingEntered sends SIGTERM to the task's group and, for a framework with TASK_KILLING_STATE,
 * reports TASK_KILLING first.
 */
const killingEntered = executorSetup.enqueueActions(({ context, event, enqueue }) => {
  if (context.taskKillingState && context.killStamp) {
    // A kill asked for while launching is carried out once the task runs: stamp it then.
    const now = event.type === 'SPAWNED' ? Math.max(event.now, context.killStamp.now) : context.killStamp.now;
    report(enqueue, context, statusOf(context, TaskState.KILLING, now, context.killStamp.uuid));
  }
  enqueue({ type: 'signalTask', params: { signal: 'SIGTERM' } });
});

/**
 * executorMachine runs one task: report TASK_STARTING, spawn the task, report TASK_RUNNING, and
 * on its exit the terminal state. A KILL (from the agent, or a signal to the executor) sends
 * SIGTERM to the task's process group and SIGKILL after the grace period. Every update is resent
 * every second until the agent acknowledges it, one at a time in order; the machine is done once
 * the terminal update is acknowledged, or after `giveUp` without a sign of the agent (AGENT_ALIVE
 * restarts the wait), or when the agent says it does not know this executor (SHUTDOWN).
 */
export const executorMachine = executorSetup.createMachine({
  id: 'executor',
  context: ({ input }) => ({
    agentId: input.agentId,
    executorId: input.executorId,
    frameworkId: input.frameworkId,
    taskId: input.taskId,
    defaultGracePeriodSeconds: input.defaultGracePeriodSeconds,
    outbox: [statusOf(input, TaskState.STARTING, input.now, input.uuid)],
    resendAttempts: 0,
    killRequested: false,
    gracePeriodSeconds: input.defaultGracePeriodSeconds,
    healthCheck: input.healthCheck,
    killedByHealthCheck: false,
    taskKillingState: input.taskKillingState ?? false,
  }),
  initial: 'launching',
  on: {
    ACK: {
      actions: executorSetup.enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'ACK') return;
        const r = acknowledge(context.outbox, event.uuid);
        if (!r.acked) return;
        enqueue.assign({ outbox: r.outbox });
        enqueue.cancel(RESEND_ID);
        if (r.next) send(enqueue, r.next);
      }),
    },
    RESEND: {
      actions: executorSetup.enqueueActions(({ context, enqueue }) => {
        if (context.outbox[0]) send(enqueue, context.outbox[0], context.resendAttempts + 1);
      }),
    },
  },
  states: {
    launching: {
      entry: [
        executorSetup.enqueueActions(({ context, enqueue }) => send(enqueue, context.outbox[0])),
        'spawnTask',
      ],
      on: {
        SPAWNED: [
          { guard: 'killRequested', target: 'killing', actions: spawned },
          { target: 'running', actions: spawned },
        ],
        SPAWN_FAILED: { target: 'reporting', actions: ended },
        CONTAINER_FAILED: { target: 'reporting', actions: ended },
        TASK_EXITED: { target: 'reporting', actions: ended },
        KILL: { actions: requestKill },
        SHUTDOWN: { actions: requestKill },
      },
    },
    running: {
      exit: executorSetup.enqueueActions(({ enqueue }) => enqueue.cancel(PROBE_ID)),
      on: {
        KILL: { target: 'killing', actions: requestKill },
        SHUTDOWN: { target: 'killing', actions: requestKill },
        TASK_EXITED: { target: 'reporting', actions: ended },
        PROBE: {
          actions: executorSetup.enqueueActions(({ context, enqueue }) => {
            if (context.healthCheck) enqueue({ type: 'probeHealth', params: { check: context.healthCheck } });
          }),
        },
        HEALTH_RESULT: [
          { guard: 'healthKill', target: 'killing', actions: healthResult },
          { actions: healthResult },
        ],
      },
    },
    killing: {
      entry: killingEntered,
      after: { killGrace: { actions: { type: 'signalTask', params: { signal: 'SIGKILL' } } } },
      on: {
        TASK_EXITED: { target: 'reporting', actions: ended },
      },
    },
    // The terminal update stays until the agent has it: while the agent shows signs of life the
    // executor waits however long it takes (a loaded agent is slow, not gone), and an exit before
    // the acknowledgement would make the agent fail a task whose end it has not read yet.
    reporting: {
      always: { guard: 'allAcknowledged', target: 'done' },
      after: {
        giveUp: {
          target: 'done',
          actions: {
            type: 'warn',
            params: { message: 'no sign of the agent while the terminal update waits; exiting anyway' },
          },
        },
      },
      on: {
        AGENT_ALIVE: { target: 'reporting', reenter: true },
        SHUTDOWN: {
          target: 'done',
          actions: {
            type: 'warn',
            params: {
              message: 'the agent does not know this executor: its updates will never be acknowledged',
            },
          },
        },
      },
    },
    done: { type: 'final' },
  },
});
