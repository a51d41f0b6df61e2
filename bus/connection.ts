import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from './log.js';

/** TlsFiles name the PEM files of a TLS connection: the CA to trust, and a client certificate. */
export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** ConnectOptions are what a component needs to reach the bus. */
export interface ConnectOptions {
  servers: string | string[];
  /** Shown in the server's connection list (`mezzo-master`, `mezzo-agent-<id>`). */
  name: string;
  log: Logger;
  user?: string;
  pass?: string;
  token?: string;
  /** Where replies come back; default `_INBOX_<user>` for a user, so only that user can read them. */
  inboxPrefix?: string;
  /** Connect over TLS, trusting `caFile` (and presenting a client certificate if given). */
  tls?: TlsFiles;
  /**
   * Skip the error nats.js builds at every request to give timeouts an async stack trace; for
   * processes making thousands of requests a second (benchmarks, load generators).
   */
  noAsyncTraces?: boolean;
}

/** inboxPrefixFor is the reply-subject prefix of a NATS user; its permissions allow only that one. */
export function inboxPrefixFor(user: string): string {
  return `_INBOX_${user}`;
}

/**
 * splitCredentials takes `user:pass@` out of NATS URLs (nats.js does not read them), so an agent
 * can hand its executors one URL that carries its credentials.
 */
export function splitCredentials(servers: string | string[]): {
  servers: string[];
  user?: string;
  pass?: string;
} {
  let user: string | undefined;
  let pass: string | undefined;
  const out = (Array.isArray(servers) ? servers : servers.split(',')).map((raw) => {
    const s = raw.trim();
    const m = /^([a-z]+:\/\/)([^@/]*)@(.*)$/i.exec(s);
    if (!m) return s;
    const [name, secret] = m[2].split(':');
    user = decodeURIComponent(name);
    pass = secret === undefined ? undefined : decodeURIComponent(secret);
    return `${m[1]}${m[3]}`;
  });
  return { servers: out, ...(user ? { user } : {}), ...(pass !== undefined ? { pass } : {}) };
}

/** withCredentials puts a user and password into NATS URLs (what executors are handed). */
export function withCredentials(servers: string | string[], user: string, pass: string): string[] {
  const creds = `${encodeURIComponent(user)}:${encodeURIComponent(pass)}@`;
  return splitCredentials(servers).servers.map((s) =>
    s.replace(/^([a-z]+:\/\/)?/i, (p) => `${p || 'nats://'}${creds}`),
  );
}

/**
 * connectNats opens a connection that reconnects forever and logs its status changes. The first
 * connect fails fast so a mistyped URL, or credentials the server refuses, are reported at once.
 */
export async function connectNats(opts: ConnectOptions): Promise<NatsConnection> {
  const fromUrl = splitCredentials(opts.servers);
  const user = opts.user ?? fromUrl.user;
  const pass = opts.pass ?? fromUrl.pass;
  const inboxPrefix = opts.inboxPrefix ?? (user ? inboxPrefixFor(user) : undefined);
  const nc = await connect({
    servers: fromUrl.servers,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
    user,
    pass,
    token: opts.token,
    ...(inboxPrefix ? { inboxPrefix } : {}),
    ...(opts.tls ? { tls: { ...opts.tls } } : {}),
    ...(opts.noAsyncTraces ? { noAsyncTraces: true } : {}),
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
