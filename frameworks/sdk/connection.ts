import { type Bus, connectNats, type Logger, NatsBus } from '../../bus/index.js';

/** BusSource is a NATS URL (the SDK opens and owns a connection) or a Bus shared with the caller. */
export type BusSource = string | Bus;

/** OpenedBus is a bus and whether closing the client should close it. */
export interface OpenedBus {
  bus: Bus;
  owned: boolean;
}

/** openBus connects to a URL, or takes a caller's bus as is (the caller keeps closing it). */
export async function openBus(source: BusSource, name: string, log: Logger): Promise<OpenedBus> {
  if (typeof source !== 'string') return { bus: source, owned: false };
  const nc = await connectNats({ servers: source, name, log });
  return { bus: new NatsBus(nc, log), owned: true };
}

/**
 * watchReconnects calls `onReconnect` whenever a NatsBus's connection comes back after a
 * disconnect; other buses have no connection to watch. Returns a function that stops watching.
 */
export function watchReconnects(bus: Bus, onReconnect: () => void): () => void {
  if (!(bus instanceof NatsBus)) return () => {};
  let stopped = false;
  const status = bus.nc.status();
  void (async () => {
    for await (const s of status) {
      if (stopped) break;
      if (s.type === 'reconnect') onReconnect();
    }
  })().catch(() => {});
  return () => {
    stopped = true;
    // nats.js hands out a queued iterator that can be stopped; other implementations end on close.
    (status as { stop?: () => void }).stop?.();
  };
}
