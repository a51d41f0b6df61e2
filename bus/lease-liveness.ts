import type { NatsConnection } from '@nats-io/transport-node';
import { RequestError } from '@nats-io/transport-node';
import type { Logger } from './log.js';

/**
 * HolderVerdict is what a probe learnt of a lease holder: `gone` only when the bus itself says
 * nobody subscribes for it (its process died, so its connection and subscriptions went with it);
 * `unknown` when the answer did not come in time (a paused or overloaded holder, a partition).
 */
export type HolderVerdict = 'alive' | 'gone' | 'unknown';

/** LivenessHandle ends one contender's answering of probes. */
export interface LivenessHandle {
  stop(): Promise<void>;
}

/**
 * LeaseLiveness lets contenders tell a dead lease holder from a slow one before the key expires.
 * Every contender answers for itself from before it first contends until it stops; a candidate
 * that keeps finding an unrenewed key probes its holder, and takes the key over (compare-and-set
 * on the revision it saw) only on `gone`. `onLost` is called when this contender can no longer
 * answer (its connection dropped): others may then take over at once, so a leader stops acting.
 */
export interface LeaseLiveness {
  announce(holder: string, onLost: () => void): Promise<LivenessHandle>;
  probe(holder: string): Promise<HolderVerdict>;
}

/**
 * natsLeaseLiveness answers and probes on `subjectFor(holder)`. A request to a subject nobody
 * subscribes to fails at once with "no responders", which is how NATS reports that the holder's
 * connection is gone: a killed process is noticed in milliseconds instead of a lease's lifetime.
 */
export function natsLeaseLiveness(
  nc: NatsConnection,
  subjectFor: (holder: string) => string,
  opts: { timeoutMs: number; log: Logger },
): LeaseLiveness {
  return {
    async announce(holder, onLost) {
      const sub = nc.subscribe(subjectFor(holder), {
        callback: (err, m) => {
          if (!err) m.respond();
        },
      });
      // The subscription is known to the server before this contender writes anything.
      await nc.flush();
      let stopped = false;
      const lost = () => {
        if (!stopped) onLost();
      };
      void (async () => {
        for await (const s of nc.status()) {
          if (stopped) return;
          if (s.type === 'disconnect') lost();
        }
      })().catch(() => {});
      void nc.closed().then(lost, lost);
      return {
        async stop() {
          stopped = true;
          if (!sub.isClosed()) sub.unsubscribe();
        },
      };
    },
    async probe(holder) {
      try {
        await nc.request(subjectFor(holder), undefined, { timeout: opts.timeoutMs });
        return 'alive';
      } catch (err) {
        if (err instanceof RequestError && err.isNoResponders()) return 'gone';
        opts.log.debug({ holder, reason: (err as Error).message }, 'lease holder did not answer in time');
        return 'unknown';
      }
    },
  };
}
