import { z } from 'zod';
import { type Clock, systemClock } from '../../actors/common/index.js';
import { type Bus, BusError, type Logger, silentLogger, type Unsubscribe } from '../../bus/index.js';
import type { Offer, Subscribed, TaskStatus } from '../../protocol/index.js';
import { Scheduler, StateStore } from '../sdk/index.js';
import { AppsCall, appsSubject } from './api.js';
import type { AppStep } from './app-machine.js';
import type { AppKind } from './spec.js';
import { KIND_PLURAL } from './spec.js';
import { StepRunner, StepStoppedError } from './step-runner.js';
import { bucketName } from './task-text.js';

/** AppHostOptions are what every built-in framework is started with. */
export interface AppHostOptions {
  /** A NatsBus: the scheduler, the apps API and the KV bucket share it. */
  bus: Bus;
  /** The cluster's subject prefix (default mezzo.v1). */
  prefix?: string;
  log?: Logger;
  /** Replicas of the framework's KV bucket (1 locally). */
  replicas?: number;
  /** How long the master keeps the framework's tasks while it is away (default one week). */
  failoverTimeoutSeconds?: number;
  /** How often the framework looks at timers: retries, deadlines, schedules (default 250 ms). */
  tickMs?: number;
  clock?: Clock;
  /** Whether this copy may act now (under a lease: whether it still leads); default always. */
  acting?: () => boolean;
}

/** AppLogic is a framework's decisions, called one at a time by the app machine. */
export interface AppLogic {
  /** The framework (re)subscribed: reconcile what it believes runs. */
  subscribed(info: Subscribed): Promise<void>;
  offers(offers: Offer[]): Promise<void>;
  update(status: TaskStatus): Promise<void>;
  tick(now: number): Promise<void>;
  call(call: AppsCall): Promise<unknown>;
}

/** AppHost is a running built-in framework: scheduler, KV store and API server. */
export interface AppHost {
  scheduler: Scheduler;
  store: StateStore;
  clock: Clock;
  log: Logger;
  prefix: string;
  stop(): Promise<void>;
}

const FrameworkRecord = z.object({ id: z.string() });
const FRAMEWORK_KEY = 'framework.id';

/**
 * startAppHost opens the kind's KV bucket, subscribes with the framework id kept there (a restart
 * resubscribes as the same framework and keeps its tasks), serves the apps API for the kind and
 * runs a tick; every callback of `logic` runs one at a time through the app machine
 * (`app-machine.ts`). `logic` is made once the host exists.
 */
export async function startAppHost(
  kind: AppKind,
  opts: AppHostOptions,
  makeLogic: (host: AppHost) => AppLogic,
): Promise<AppHost> {
  const prefix = opts.prefix ?? 'mezzo.v1';
  const log = (opts.log ?? silentLogger).child({ framework: KIND_PLURAL[kind] });
  const clock = opts.clock ?? systemClock;
  const store = await StateStore.open({
    bus: opts.bus,
    bucket: bucketName(prefix, KIND_PLURAL[kind]),
    replicas: opts.replicas,
  });
  const saved = await store.get(FRAMEWORK_KEY, FrameworkRecord);
  let logic: AppLogic | undefined;
  // Steps queue from the first event on; the machine runs them once `logic` exists (READY).
  const runner = new StepRunner(
    (step) => {
      const l = logic as AppLogic;
      switch (step.type) {
        case 'SUBSCRIBED':
          return l.subscribed(step.info);
        case 'OFFERS':
          return l.offers(step.offers);
        case 'UPDATE':
          return l.update(step.status);
        case 'TICK':
          return l.tick(step.now);
        case 'CALL':
          return l.call(step.call);
      }
    },
    log,
    opts.acting,
  );
  const submit = (step: AppStep) =>
    runner.submit(step).catch((err) => {
      if (!(err instanceof BusError) && !(err instanceof StepStoppedError))
        log.error({ err, step: step.type }, 'step failed');
      throw err;
    });
  const scheduler = await Scheduler.start({
    nats: opts.bus,
    prefix,
    log,
    framework: {
      ...(saved ? { id: saved.id } : {}),
      name: `mezzo-${KIND_PLURAL[kind]}`,
      failoverTimeoutSeconds: opts.failoverTimeoutSeconds ?? 7 * 24 * 3600,
      checkpoint: true,
    },
    handlers: {
      subscribed: (info) => void submit({ type: 'SUBSCRIBED', info }).catch(() => {}),
      offers: (offers) => void submit({ type: 'OFFERS', offers }).catch(() => {}),
      // Returned promise: the update is acknowledged only once the state it led to is stored.
      update: (status) => submit({ type: 'UPDATE', status }) as Promise<never>,
    },
  });
  if (!saved) await store.put(FRAMEWORK_KEY, FrameworkRecord, { id: scheduler.frameworkId });
  const stops: Unsubscribe[] = [];
  const host: AppHost = {
    scheduler,
    store,
    clock,
    log,
    prefix,
    async stop() {
      clearInterval(timer);
      for (const s of stops) s();
      await runner.stop();
      await scheduler.close('framework stopped');
    },
  };
  logic = makeLogic(host);
  runner.ready();
  stops.push(opts.bus.serve(appsSubject(prefix, kind), AppsCall, (call) => submit({ type: 'CALL', call })));
  await opts.bus.flush();
  // One tick at a time: a slow step does not pile ticks up behind it.
  let ticking = false;
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    void submit({ type: 'TICK', now: clock.now() })
      .catch(() => {})
      .finally(() => {
        ticking = false;
      });
  }, opts.tickMs ?? 250);
  return host;
}

/** notFound is the error for an app that does not exist. */
export function notFound(kind: AppKind, name: string): BusError {
  return new BusError(`${kind.toLowerCase()} ${name} not found`, 'NOT_FOUND');
}

/** badRequest is the error for a request that cannot be applied; nothing changed. */
export function badRequest(message: string): BusError {
  return new BusError(message, 'BAD_REQUEST');
}
