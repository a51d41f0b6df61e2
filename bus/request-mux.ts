import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { createInbox } from '@nats-io/transport-node';
import { RequestTimeoutError } from './errors.js';

interface PendingRequest {
  subject: string;
  deadline: number;
  resolve: (data: Uint8Array) => void;
  reject: (err: Error) => void;
}

/** RequestMuxOptions shape a RequestMux. */
export interface RequestMuxOptions {
  /**
   * Where replies come back: `<inboxPrefix>.<random>.<n>`. The connection must be allowed to
   * subscribe there (`_INBOX`, the default, on an unsecured cluster; `_INBOX_<user>` for a user).
   */
  inboxPrefix?: string;
  /** How often requests past their deadline are failed (ms, default 100). */
  sweepEveryMs?: number;
  now?: () => number;
}

/**
 * RequestMux sends requests on one connection and matches their replies on one wildcard inbox
 * subscription, as nats.js's own request() does, minus what that builds per request: an Error
 * with a stack trace that rejects the already settled promise of every request that completes
 * (about a tenth of a simulator's CPU while 10,000 agents re-register) and a timer of its own.
 * Deadlines are checked every `sweepEveryMs`, so a request fails up to that much after it. For
 * load generators sending thousands of requests a second; nothing else needs it.
 */
export class RequestMux {
  private readonly prefix: string;
  private readonly pending = new Map<string, PendingRequest>();
  private readonly sub: Subscription;
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;
  private seq = 0;
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    opts: RequestMuxOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.prefix = `${createInbox(opts.inboxPrefix)}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => this.onReply(err, msg) });
    this.sweeper = setInterval(() => this.sweep(), opts.sweepEveryMs ?? 100);
    this.sweeper.unref();
  }

  /** request publishes `payload` to `subject` and resolves with the reply's data. */
  request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new RequestTimeoutError(subject, new Error('the mux is closed')));
    const token = (++this.seq).toString(36);
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(token, { subject, deadline: this.now() + timeoutMs, resolve, reject });
      try {
        this.nc.publish(subject, payload, { reply: this.prefix + token });
      } catch (err) {
        this.pending.delete(token);
        reject(new RequestTimeoutError(subject, err));
      }
    });
  }

  /** inFlight is how many requests await a reply. */
  inFlight(): number {
    return this.pending.size;
  }

  /** close stops the subscription; requests still waiting fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new RequestTimeoutError(p.subject, new Error('the mux was closed')));
  }

  private onReply(err: Error | null, msg: Msg): void {
    if (err) return;
    const token = msg.subject.slice(this.prefix.length);
    const p = this.pending.get(token);
    if (!p) return;
    this.pending.delete(token);
    // The server answers a request nobody subscribes to with an empty 503 status message.
    if (msg.data.length === 0 && msg.headers?.code === 503)
      p.reject(new RequestTimeoutError(p.subject, new Error('no responders')));
    else p.resolve(msg.data);
  }

  private sweep(): void {
    if (this.pending.size === 0) return;
    const now = this.now();
    for (const [token, p] of this.pending) {
      if (now < p.deadline) continue;
      this.pending.delete(token);
      p.reject(new RequestTimeoutError(p.subject, new Error('timed out')));
    }
  }
}
