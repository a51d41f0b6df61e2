import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from './log.js';

/** ConnectOptions are what a component needs to reach the bus. */
export interface ConnectOptions {
  servers: string | string[];
  /** Shown in the server's connection list (`mezzo-master`, `mezzo-agent-<id>`). */
  name: string;
  log: Logger;
  user?: string;
  pass?: string;
  token?: string;
}

/**
 * connectNats opens a connection that reconnects forever and logs its status changes. The first
 * connect fails fast so a mistyped URL is reported at once.
 */
export async function connectNats(opts: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: opts.servers,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
    user: opts.user,
    pass: opts.pass,
    token: opts.token,
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
        opts.log.warn({ event: s.type, server: (s as { server?: string }).server }, 'nats connection status');
      }
    }
  })().catch(() => {});
  return nc;
}
