import { z } from 'zod';
import { type Clock, systemClock } from '../../actors/common/index.js';
import { type Bus, BusError, type Logger, silentLogger, type Unsubscribe } from '../../bus/index.js';
import type { Offer, Subscribed, TaskStatus } from '../../protocol/index.js';
import { Scheduler, StateStore } from '../sdk/index.js';
import { AppsCall, appsSubject } from './api.js';
import { Serial } from './serial.js';
import type { AppKind } from './spec.js';
import { KIND_PLURAL } from './spec.js';
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
}

/** AppLogic is a framework's decisions, called one at a time. */
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
  serial: Serial;
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
 * runs a tick; every callback of `logic` runs serially. `logic` is made once the host exists.
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
  const serial = new Serial();
  let logic: AppLogic | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((r) => {
    markReady = r;
  });
  // Events can arrive before `logic` exists; the first serial step waits for it.
  void serial.run(() => ready);
  const guard = (what: string, step: () => Promise<unknown>) =>
    serial.run(step).catch((err) => {
      log.error({ err }, `${what} failed`);
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
      subscribed: (info) =>
        void guard('subscribed', () => (logic as AppLogic).subscribed(info)).catch(() => {}),
      offers: (offers) => void guard('offers', () => (logic as AppLogic).offers(offers)).catch(() => {}),
      // Returned promise: the update is acknowledged only once the state it led to is stored.
      update: (status) => guard('update', () => (logic as AppLogic).update(status)) as Promise<void>,
    },
  });
  if (!saved) await store.put(FRAMEWORK_KEY, FrameworkRecord, { id: scheduler.frameworkId });
  const stops: Unsubscribe[] = [];
  const host: AppHost = {
    scheduler,
    store,
    serial,
    clock,
    log,
    prefix,
    async stop() {
      clearInterval(timer);
      for (const s of stops) s();
      await serial.run(() => undefined);
      await scheduler.close('framework stopped');
    },
  };
  logic = makeLogic(host);
  markReady();
  stops.push(
    opts.bus.serve(appsSubject(prefix, kind), AppsCall, (call) =>
      serial
        .run(() => (logic as AppLogic).call(call))
        .catch((err) => {
          if (err instanceof BusError) throw err;
          log.error({ err, call: call.type }, 'apps request failed');
          throw err;
        }),
    ),
  );
  await opts.bus.flush();
  const timer = setInterval(
    () => void guard('tick', () => (logic as AppLogic).tick(clock.now())).catch(() => {}),
    opts.tickMs ?? 250,
  );
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
