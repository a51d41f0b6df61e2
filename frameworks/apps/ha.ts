import { randomUUID } from 'node:crypto';
import {
  type Bus,
  kvLeaseStore,
  Lease,
  type LeaseTiming,
  type Logger,
  NatsBus,
  openLeaseBucket,
  silentLogger,
} from '../../bus/index.js';
import { Serial } from './serial.js';
import { bucketName } from './task-text.js';

/** Running is what a framework's start function returns. */
export interface Running {
  stop(): Promise<void>;
}

/** LeadingOptions make one of several copies of a framework the active one. */
export interface LeadingOptions {
  /** A NatsBus (the lease lives in a JetStream KV bucket). */
  bus: Bus;
  prefix: string;
  /** Which framework: one lease key each (`services`, `jobs`, `cronjobs`). */
  name: string;
  log?: Logger;
  replicas?: number;
  timing?: Partial<LeaseTiming>;
}

/** Leading is a copy of a framework contending to be the active one. */
export interface Leading {
  /** Whether this copy runs the framework now. */
  leading(): boolean;
  /** Stops contending (a leader stops its framework and hands the lease over at once). */
  stop(): Promise<void>;
}

/**
 * runWhileLeading keeps several copies of a framework and lets exactly one act: each contends for
 * the framework's lease (bus/lease.ts); the copy that wins starts the framework, which
 * resubscribes with the FrameworkID kept in KV and reconciles; a copy that loses its lease stops
 * its framework at once (closing, not tearing down, so the tasks stay for the next leader).
 */
export async function runWhileLeading(
  opts: LeadingOptions,
  start: (acting: () => boolean) => Promise<Running>,
): Promise<Leading> {
  if (!(opts.bus instanceof NatsBus)) throw new Error('runWhileLeading needs a NatsBus (JetStream)');
  const log = (opts.log ?? silentLogger).child({ lease: opts.name });
  const timing = { ttlMs: 5000, renewEveryMs: 1000, pollEveryMs: 500, safetyMs: 750, ...opts.timing };
  const kv = await openLeaseBucket(opts.bus.nc, bucketName(opts.prefix, 'apps-leases'), {
    ttlMs: timing.ttlMs,
    replicas: opts.replicas ?? 1,
  });
  const serial = new Serial();
  let running: Running | undefined;
  const lease = new Lease({
    store: kvLeaseStore(kv, opts.name),
    holder: `${opts.name}-${randomUUID().slice(0, 8)}`,
    timing,
    log,
    onElected: (term) =>
      void serial.run(async () => {
        if (running || !lease.isValid()) return;
        log.info({ epoch: term.epoch }, 'leading: starting the framework');
        try {
          // The framework checks the lease before every step it takes.
          running = await start(() => lease.isValid());
        } catch (err) {
          log.error({ err }, 'the framework did not start; resigning');
          await lease.resign('the framework did not start');
        }
      }),
    onDeposed: (_term, reason) =>
      void serial.run(async () => {
        if (!running) return;
        log.warn({ reason }, 'no longer leading: stopping the framework');
        const r = running;
        running = undefined;
        await r.stop().catch((err) => log.error({ err }, 'stopping the framework failed'));
      }),
  });
  lease.start();
  return {
    leading: () => running !== undefined && lease.isValid(),
    async stop() {
      // Stop the framework before the lease is released, so that two never act at once.
      await serial.run(async () => {
        const r = running;
        running = undefined;
        await r?.stop().catch(() => {});
      });
      await lease.stop();
      await serial.run(() => undefined);
    },
  };
}
