import type { Bus, Logger } from '../../bus/index.js';
import { startCronFramework } from '../cron/index.js';
import { startJobsFramework } from '../jobs/index.js';
import { startServicesFramework } from '../services/index.js';

/** BuiltInsOptions start the three built-in frameworks, each on a connection of its own. */
export interface BuiltInsOptions {
  /** Opens one connection (a NatsBus) for the named framework. */
  connect: (name: string) => Promise<Bus>;
  prefix: string;
  log: Logger;
  /** Replicas of the frameworks' KV buckets (1 on a single nats-server). */
  replicas?: number;
}

/** BuiltIns are the running services, jobs and cron frameworks. */
export interface BuiltIns {
  stop(): Promise<void>;
}

/**
 * startBuiltIns starts the services, jobs and cron frameworks (what `mezzo up` runs next to the
 * master); stop() stops them and closes their connections, cron first since it drives jobs.
 */
export async function startBuiltIns(opts: BuiltInsOptions): Promise<BuiltIns> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    while (stops.length) await (stops.pop() as () => Promise<void>)().catch(() => {});
  };
  try {
    for (const [name, start] of [
      ['services', startServicesFramework],
      ['jobs', startJobsFramework],
      ['cron', startCronFramework],
    ] as const) {
      const bus = await opts.connect(`mezzo-${name}`);
      stops.push(() => bus.close());
      const fw = await start({ bus, prefix: opts.prefix, log: opts.log, replicas: opts.replicas });
      stops.push(() => fw.stop());
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { stop: stopAll };
}
