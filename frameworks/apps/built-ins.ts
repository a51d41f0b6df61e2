import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus, Logger } from '../../bus/index.js';
import { startCronFramework } from '../cron/index.js';
import { startJobsFramework } from '../jobs/index.js';
import { startServicesFramework } from '../services/index.js';
import { type Leading, runWhileLeading } from './ha.js';

/** BuiltInsOptions start the three built-in frameworks, each on a connection of its own. */
export interface BuiltInsOptions {
  /** Opens one connection (a NatsBus) for the named framework. */
  connect: (name: string) => Promise<Bus>;
  prefix: string;
  log: Logger;
  /** Replicas of the frameworks' KV buckets (1 on a single nats-server). */
  replicas?: number;
  /** How long start waits for each framework to become active (another copy may lead). */
  leadWithinMs?: number;
}

/** BuiltIns are the running services, jobs and cron frameworks. */
export interface BuiltIns {
  /** Which of them this process runs now (the others lead elsewhere). */
  leading(): Record<string, boolean>;
  stop(): Promise<void>;
}

/**
 * startBuiltIns starts the services, jobs and cron frameworks (what `mezzo up` runs next to the
 * master). Each runs under its lease, so several processes may run them and exactly one copy of
 * each acts; stop() stops them and closes their connections, cron first since it drives jobs.
 */
export async function startBuiltIns(opts: BuiltInsOptions): Promise<BuiltIns> {
  const stops: (() => Promise<void>)[] = [];
  const copies: Record<string, Leading> = {};
  const stopAll = async () => {
    while (stops.length) await (stops.pop() as () => Promise<void>)().catch(() => {});
  };
  try {
    for (const [name, start] of [
      ['services', startServicesFramework],
      ['jobs', startJobsFramework],
      ['cronjobs', startCronFramework],
    ] as const) {
      const bus = await opts.connect(`mezzo-${name}`);
      stops.push(() => bus.close());
      const copy = await runWhileLeading(
        { bus, prefix: opts.prefix, name, log: opts.log, replicas: opts.replicas },
        (acting) => start({ bus, prefix: opts.prefix, log: opts.log, replicas: opts.replicas, acting }),
      );
      copies[name] = copy;
      stops.push(() => copy.stop());
    }
    const deadline = Date.now() + (opts.leadWithinMs ?? 10_000);
    while (Date.now() < deadline && !Object.values(copies).every((c) => c.leading())) await sleep(100);
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    leading: () => Object.fromEntries(Object.entries(copies).map(([k, c]) => [k, c.leading()])),
    stop: stopAll,
  };
}
