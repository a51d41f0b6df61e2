import { randomUUID } from 'node:crypto';
import { type Actor, createActor, fromPromise } from 'xstate';
import { z } from 'zod';
import { type Clock, systemClock } from '../../actors/common/index.js';
import {
  type Bus,
  EpochGate,
  formatIssues,
  type Logger,
  RemoteError,
  RequestTimeoutError,
  silentLogger,
  type Unsubscribe,
  ValidationError,
} from '../../bus/index.js';
import {
  FrameworkInfo,
  type FrameworkInfoInput,
  type KillPolicy,
  LeaderAnnouncement,
  subjects as makeSubjects,
  type Offer,
  type OperationInput,
  SchedulerCall,
  type SchedulerCallInput,
  StampedSchedulerEvent,
  type Subjects,
  Subscribed,
  TaskOutput,
  type TaskStatus,
} from '../../protocol/index.js';
import {
  type Acknowledgement,
  acknowledgementFor,
  type FiltersInput,
  launchCall,
  type TaskToLaunch,
  toIds,
} from './calls.js';
import { type BusSource, openBus, watchReconnects } from './connection.js';
import { TypedEmitter } from './emitter.js';
import { SchedulerClosedError, SubscribeRefusedError } from './errors.js';
import { newFrameworkId } from './framework-id.js';
import { type SchedulerNotice, type SubscribeOutcome, schedulerMachine } from './scheduler-machine.js';

/** FailureInfo is a FAILURE event: an agent was lost, or an executor exited. */
export interface FailureInfo {
  agentId: string;
  executorId?: string;
  exitCode?: number;
}

/** SchedulerHandlers are the events a Scheduler emits, with their handler signatures. */
export interface SchedulerHandlers {
  /** The master accepted SUBSCRIBE (again, after a resubscription: `resubscribed` is true). */
  subscribed: (info: Subscribed) => void;
  /** New offers; accept, launch on or decline each of them. */
  offers: (offers: Offer[]) => void;
  /** An offer is no longer valid. */
  rescind: (offerId: string) => void;
  /**
   * A task's status changed. With automatic acknowledgement it is acknowledged once every handler
   * returned (or its promise resolved); a handler that throws or rejects leaves it unacknowledged,
   * so the agent sends it again.
   */
  update: (status: TaskStatus) => void | Promise<void>;
  /** An agent was lost or an executor exited. */
  failure: (failure: FailureInfo) => void;
  /** The master sent ERROR or refused SUBSCRIBE: fatal, the scheduler closes right after. */
  error: (message: string) => void;
  /** The scheduler lost the master (silence or reconnect) and is resubscribing. */
  disconnected: (reason: string) => void;
  /** The scheduler closed and will emit nothing more. */
  closed: (reason: string) => void;
}

/** TimerClock is a clock that also runs the scheduler's timers (XState's SimulatedClock is one). */
export interface TimerClock extends Clock {
  setTimeout(fn: (...args: unknown[]) => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** SchedulerOptions start a Scheduler. */
export interface SchedulerOptions {
  /** A NATS URL (the scheduler opens and closes its own connection) or a Bus to share. */
  nats: BusSource;
  /** Subject prefix of the cluster; default `mezzo.v1`. */
  prefix?: string;
  /** The framework; `id` defaults to a fresh one. Pass the old id (and keep a failover timeout) to fail over. */
  framework: Omit<FrameworkInfoInput, 'id'> & { id?: string };
  /** Acknowledge every status update with a uuid after the update handlers ran (default true). */
  autoAcknowledge?: boolean;
  /** Handlers added before anything can be emitted. */
  handlers?: Partial<SchedulerHandlers>;
  log?: Logger;
  /** Time, and the timers of the heartbeat, the silence watchdog and the SUBSCRIBE retries. */
  clock?: Clock | TimerClock;
  /** How long a call waits for the master's answer (default 5000 ms). */
  requestTimeoutMs?: number;
}

/** SchedulerPhase is where the scheduler stands in its life cycle. */
export type SchedulerPhase = 'subscribing' | 'subscribed' | 'resubscribing' | 'closed';

const AnyResult = z.unknown();

// Codes that mean "the master is not there or not ready": worth trying SUBSCRIBE again.
const RETRYABLE = new Set<string>(['UNAVAILABLE', 'INTERNAL']);
// Codes a call gets when the master no longer counts us as subscribed.
const NOT_SUBSCRIBED = new Set<string>(['NOT_FOUND', 'CONFLICT']);

function hasTimers(clock: Clock | TimerClock): clock is TimerClock {
  return typeof (clock as TimerClock).setTimeout === 'function';
}

/**
 * Scheduler is a framework's connection to the master: it subscribes with its own framework id,
 * keeps the subscription alive, emits the master's events and sends the framework's calls.
 * Create one with `Scheduler.start(...)`.
 */
export class Scheduler extends TypedEmitter<SchedulerHandlers> {
  private readonly actor: Actor<typeof schedulerMachine>;
  /** Names this instance to the master, so that a takeover can tell the old one apart. */
  private readonly session = randomUUID();
  private readonly unsubscribes = new Set<Unsubscribe>();
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private firstSubscribed!: Promise<Subscribed>;
  private settleFirst!: { resolve: (s: Subscribed) => void; reject: (e: Error) => void };
  private done!: Promise<string>;
  private finish!: (reason: string) => void;
  private cleanedUp: Promise<void> | undefined;
  private lastUpdate: Promise<boolean> = Promise.resolve(true);
  private closeReason: string | undefined;
  /** Set once teardown or close began: automatic acknowledgements stop. */
  private closing = false;
  private stopWatching: () => void = () => {};
  private lastEventTime: number | undefined;
  /** HA: the newest leader epoch seen; events from a deposed leader are dropped. */
  private readonly epochs = new EpochGate();
  private masterId: string | undefined;

  private constructor(
    private readonly bus: Bus,
    private readonly ownsBus: boolean,
    private readonly subjects: Subjects,
    private readonly framework: FrameworkInfoInput,
    opts: SchedulerOptions,
  ) {
    super((event, err) => this.log.error({ err, event: String(event) }, 'a scheduler handler threw'));
    this.log = (opts.log ?? silentLogger).child({ frameworkId: framework.id });
    this.clock = opts.clock ?? systemClock;
    this.timeoutMs = opts.requestTimeoutMs ?? 5000;
    this.firstSubscribed = new Promise<Subscribed>((resolve, reject) => {
      this.settleFirst = { resolve, reject };
    });
    this.firstSubscribed.catch(() => {});
    this.done = new Promise<string>((resolve) => {
      this.finish = resolve;
    });
    for (const [event, handler] of Object.entries(opts.handlers ?? {})) {
      if (handler) this.on(event as keyof SchedulerHandlers, handler as never);
    }
    const machine = schedulerMachine.provide({
      actors: { subscribe: fromPromise(({ input }) => this.trySubscribe(input.framework)) },
      actions: {
        notify: (_, notice) => this.onNotice(notice),
        sendHeartbeat: () => this.heartbeat(),
        acknowledge: (_, ack) => this.autoAcknowledge(ack),
      },
    });
    let lastPhase: unknown;
    const clock = opts.clock && hasTimers(opts.clock) ? opts.clock : undefined;
    this.actor = createActor(machine, {
      input: { framework, autoAcknowledge: opts.autoAcknowledge ?? true },
      ...(clock ? { clock: clock as never } : {}),
      inspect: (ev) => {
        if (ev.type !== '@xstate.snapshot' || ev.actorRef !== this.actor) return;
        const value = (ev.snapshot as { value?: unknown }).value;
        const phase = typeof value === 'string' ? value : Object.keys(value as object)[0];
        if (phase !== lastPhase) {
          this.log.debug({ phase }, 'scheduler phase');
          lastPhase = phase;
        }
      },
    });
    this.actor.subscribe({ error: (err) => this.log.error({ err }, 'scheduler actor failed') });
  }

  /**
   * start listens on the framework's events subject, then sends SUBSCRIBE. It resolves once the
   * first SUBSCRIBE is on its way, so handlers added right after `await` miss no event; await
   * `subscribed()` for the master's answer. The framework is validated first (throws ValidationError).
   */
  static async start(opts: SchedulerOptions): Promise<Scheduler> {
    const framework = { ...opts.framework, id: opts.framework.id ?? newFrameworkId() };
    const parsed = FrameworkInfo.safeParse(framework);
    if (!parsed.success) throw new ValidationError(formatIssues(parsed.error), parsed.error);
    const log = opts.log ?? silentLogger;
    const { bus, owned } = await openBus(opts.nats, `mezzo-framework-${framework.name}`, log);
    const scheduler = new Scheduler(bus, owned, makeSubjects(opts.prefix), framework, opts);
    try {
      await scheduler.begin();
    } catch (err) {
      if (owned) await bus.close().catch(() => {});
      throw err;
    }
    return scheduler;
  }

  /** frameworkId is this framework's id: keep it to fail over. */
  get frameworkId(): string {
    return this.framework.id;
  }

  /** phase is where the scheduler stands: subscribing, subscribed, resubscribing or closed. */
  get phase(): SchedulerPhase {
    const value = this.actor.getSnapshot().value;
    return (typeof value === 'string' ? value : Object.keys(value)[0]) as SchedulerPhase;
  }

  /** lastEventAt is when (by the injected clock) the last event from the master arrived. */
  get lastEventAt(): number | undefined {
    return this.lastEventTime;
  }

  /** subscribed resolves with the first SUBSCRIBED answer; rejects if the scheduler closes first. */
  subscribed(): Promise<Subscribed> {
    return this.firstSubscribed;
  }

  /** closed resolves with the reason once the scheduler has closed and released its subscriptions. */
  async closed(): Promise<string> {
    const reason = await this.done;
    await this.cleanedUp;
    return reason;
  }

  private async begin(): Promise<void> {
    const stop = this.bus.listen(
      this.subjects.frameworkEvents(this.framework.id),
      StampedSchedulerEvent,
      (event) => {
        // An ERROR aimed at another session of this framework (one taken over) is not ours.
        if (event.type === 'ERROR' && event.session && event.session !== this.session) return;
        if (this.epochs.admit(event.epoch) === 'stale') {
          this.log.warn({ epoch: event.epoch, type: event.type }, 'dropping an event from a deposed master');
          return;
        }
        this.lastEventTime = this.clock.now();
        this.actor.send({ type: 'EVENT', event });
      },
    );
    this.unsubscribes.add(stop);
    // The events subscription must reach the server before SUBSCRIBE, or the first offers are lost.
    await this.bus.flush();
    this.stopWatching = watchReconnects(this.bus, () => this.actor.send({ type: 'RECONNECTED' }));
    this.actor.start();
    // HA: a newly elected master announces itself; resubscribe to it rather than wait for silence.
    this.unsubscribes.add(
      this.bus.listen(this.subjects.leader(), LeaderAnnouncement, (a) => {
        if (this.epochs.admit(a.epoch) !== 'newer' || a.masterId === this.masterId) return;
        if (this.phase === 'subscribed')
          this.actor.send({
            type: 'SUBSCRIPTION_LOST',
            reason: `master ${a.masterId} leads now (epoch ${a.epoch})`,
          });
      }),
    );
  }

  // --- calls -------------------------------------------------------------------------------

  /**
   * call sends any scheduler call and resolves when the master answers ok; it rejects with the
   * bus's RemoteError when the master refuses, RequestTimeoutError when nobody answers, and
   * SchedulerClosedError after close.
   */
  async call(call: SchedulerCallInput): Promise<void> {
    if (this.closeReason !== undefined) throw new SchedulerClosedError(this.closeReason);
    try {
      await this.bus.request(this.subjects.scheduler(this.framework.id), SchedulerCall, call, AnyResult, {
        timeoutMs: this.timeoutMs,
      });
    } catch (err) {
      if (err instanceof RemoteError && NOT_SUBSCRIBED.has(err.code) && this.phase === 'subscribed') {
        this.actor.send({
          type: 'SUBSCRIPTION_LOST',
          reason: `the master answered ${call.type}: ${err.message}`,
        });
      }
      throw err;
    }
  }

  /** accept runs operations on offers (all of one agent); unused resources are declined with `filters`. */
  accept(
    offerIds: string | readonly string[],
    operations: OperationInput[],
    filters?: FiltersInput,
  ): Promise<void> {
    return this.call({
      type: 'ACCEPT',
      offerIds: toIds(offerIds),
      operations,
      ...(filters ? { filters } : {}),
    });
  }

  /** launch accepts offers with one LAUNCH operation; tasks get the offers' agent when given offers. */
  launch(
    offers: Offer | string | readonly (Offer | string)[],
    tasks: TaskToLaunch[],
    filters?: FiltersInput,
  ): Promise<void> {
    return this.call(launchCall(offers, tasks, filters));
  }

  /** decline gives offers back; their resources are not offered again for `refuseSeconds` (default 5). */
  decline(offerIds: string | readonly string[], filters?: FiltersInput): Promise<void> {
    return this.call({ type: 'DECLINE', offerIds: toIds(offerIds), ...(filters ? { filters } : {}) });
  }

  /** kill asks for a task to be killed; the outcome arrives as an update (TASK_KILLED). */
  kill(taskId: string, agentId?: string, killPolicy?: KillPolicy): Promise<void> {
    return this.call({
      type: 'KILL',
      taskId,
      ...(agentId ? { agentId } : {}),
      ...(killPolicy ? { killPolicy } : {}),
    });
  }

  /**
   * acknowledge confirms a status update so the agent stops resending it. Statuses without a uuid
   * (made by the master) need none: this resolves at once for them.
   */
  async acknowledge(status: TaskStatus): Promise<void> {
    if (!status.uuid) return;
    const ack = acknowledgementFor(status);
    if (!ack)
      throw new Error(`status of task ${status.taskId} has a uuid but no agentId; it cannot be acknowledged`);
    await this.call(ack);
  }

  /** reconcile asks for the latest state of the named tasks, or of all the framework's tasks when empty. */
  reconcile(tasks: { taskId: string; agentId?: string }[] = []): Promise<void> {
    return this.call({ type: 'RECONCILE', tasks });
  }

  /** suppress stops offers for the roles (default: all the framework's roles) until revive. */
  suppress(roles?: string[]): Promise<void> {
    return this.call({ type: 'SUPPRESS', ...(roles ? { roles } : {}) });
  }

  /** revive resumes offers for the roles and clears their decline filters. */
  revive(roles?: string[]): Promise<void> {
    return this.call({ type: 'REVIVE', ...(roles ? { roles } : {}) });
  }

  /** teardown removes the framework from the cluster (its tasks are killed), then closes. */
  async teardown(): Promise<void> {
    this.closing = true;
    try {
      await this.call({ type: 'TEARDOWN' });
    } finally {
      await this.close('torn down');
    }
  }

  /**
   * followOutput streams a task's stdout and stderr chunks (best effort, live only) to `onChunk`.
   * Follow before launching to see the first bytes. Returns a function that stops following.
   */
  followOutput(taskId: string, onChunk: (chunk: TaskOutput) => void): Unsubscribe {
    if (this.closeReason !== undefined) throw new SchedulerClosedError(this.closeReason);
    const stop = this.bus.listen(this.subjects.taskOutput(this.framework.id, taskId), TaskOutput, onChunk);
    const unsubscribe = () => {
      if (this.unsubscribes.delete(unsubscribe)) stop();
    };
    this.unsubscribes.add(unsubscribe);
    return unsubscribe;
  }

  /** flush waits until the server has seen every subscription and call made so far. */
  flush(): Promise<void> {
    return this.bus.flush();
  }

  /**
   * close stops the scheduler without tearing the framework down: the master keeps its tasks for
   * `failoverTimeoutSeconds` after it stops hearing from it. Closes the connection it opened.
   */
  async close(reason = 'closed by the scheduler'): Promise<void> {
    this.closing = true;
    if (this.closeReason === undefined) this.actor.send({ type: 'CLOSE', reason });
    await this.closed();
  }

  // --- effects bound into the machine ----------------------------------------------------------

  private async trySubscribe(framework: FrameworkInfoInput): Promise<SubscribeOutcome> {
    try {
      const subscribed = await this.bus.request(
        this.subjects.scheduler(framework.id),
        SchedulerCall,
        { type: 'SUBSCRIBE', framework, session: this.session },
        Subscribed,
        { timeoutMs: this.timeoutMs },
      );
      return { ok: true, subscribed };
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      if (err instanceof RemoteError && !RETRYABLE.has(err.code)) return { ok: false, retry: false, message };
      if (err instanceof ValidationError) return { ok: false, retry: false, message };
      if (!(err instanceof RequestTimeoutError)) this.log.warn({ err }, 'SUBSCRIBE failed; retrying');
      else this.log.debug({ reason: message }, 'SUBSCRIBE got no answer; retrying');
      return { ok: false, retry: true, message };
    }
  }

  private heartbeat(): void {
    this.call({ type: 'HEARTBEAT' }).catch((err) =>
      this.log.debug({ reason: (err as Error).message }, 'heartbeat failed'),
    );
  }

  private autoAcknowledge(ack: Acknowledgement): void {
    const handled = this.lastUpdate;
    void handled
      .then((ok) => {
        if (!ok) {
          this.log.warn(
            { taskId: ack.taskId, uuid: ack.uuid },
            'an update handler failed; leaving the update unacknowledged',
          );
          return;
        }
        if (this.closing || this.closeReason !== undefined) return;
        return this.call(ack);
      })
      .catch((err) => {
        // Once the framework is going away an unacknowledged update no longer matters.
        if (this.closing || this.closeReason !== undefined)
          this.log.debug({ err, taskId: ack.taskId }, 'acknowledgement dropped while closing');
        else this.log.warn({ err, taskId: ack.taskId }, 'could not acknowledge a status update');
      });
  }

  private onNotice(notice: SchedulerNotice): void {
    switch (notice.type) {
      case 'subscribed':
        this.log.info(
          { resubscribed: notice.subscribed.resubscribed, masterId: notice.subscribed.masterId },
          'subscribed',
        );
        this.masterId = notice.subscribed.masterId;
        this.settleFirst.resolve(notice.subscribed);
        this.emit('subscribed', notice.subscribed);
        return;
      case 'event': {
        const e = notice.event;
        if (e.type === 'OFFERS') this.emit('offers', e.offers);
        else if (e.type === 'RESCIND') this.emit('rescind', e.offerId);
        else if (e.type === 'FAILURE') {
          this.emit('failure', {
            agentId: e.agentId,
            ...(e.executorId ? { executorId: e.executorId } : {}),
            ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
          });
        } else if (e.type === 'UPDATE') {
          const { results, failed } = this.emit('update', e.status);
          // A rejected handler was already reported by the emitter; it only withholds the acknowledgement.
          this.lastUpdate = Promise.allSettled(results).then(
            (settled) => !failed && settled.every((r) => r.status === 'fulfilled'),
          );
        }
        return;
      }
      case 'disconnected':
        this.log.warn({ reason: notice.reason }, 'lost the master; resubscribing');
        this.emit('disconnected', notice.reason);
        return;
      case 'error':
        this.log.error({ message: notice.message }, 'the master ended this framework');
        this.emit('error', notice.message);
        return;
      case 'closed':
        this.closeReason = notice.reason;
        this.settleFirst.reject(new SubscribeRefusedError(`closed before subscribing: ${notice.reason}`));
        this.cleanedUp = this.cleanup();
        this.emit('closed', notice.reason);
        this.finish(notice.reason);
        return;
    }
  }

  private async cleanup(): Promise<void> {
    this.stopWatching();
    for (const stop of [...this.unsubscribes]) {
      try {
        stop();
      } catch {
        // a subscription of a closed connection is gone already
      }
    }
    this.unsubscribes.clear();
    if (this.ownsBus)
      await this.bus.close().catch((err) => this.log.warn({ err }, 'closing the connection failed'));
  }
}
