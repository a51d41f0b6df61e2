import type { z } from 'zod';
import {
  type Bus,
  BusError,
  type Listener,
  parseWith,
  type RequestHandler,
  RequestTimeoutError,
  type Unsubscribe,
} from '../../bus/index.js';

/** RecordedRequest is one request a FakeBus saw, validated by the caller's schema. */
export interface RecordedRequest {
  subject: string;
  call: unknown;
}

/** Responder answers a request on a FakeBus: return the result, or throw a BusError to refuse. */
export type Responder = (subject: string, call: unknown) => unknown | Promise<unknown>;

function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/**
 * FakeBus is an in-memory Bus for testing frameworks without NATS: it records every request and
 * publish, answers requests through a responder (none: they time out), and lets a test deliver
 * messages to listeners. Messages are validated by the same schemas as on the real bus.
 */
export class FakeBus implements Bus {
  readonly requests: RecordedRequest[] = [];
  readonly published: RecordedRequest[] = [];
  /** The order of listen/flush/request/publish calls, for tests about ordering. */
  readonly log: string[] = [];
  private readonly listeners = new Map<
    number,
    { subject: string; schema: z.ZodType; fn: Listener<unknown> }
  >();
  private nextId = 0;
  closed = false;

  constructor(public responder?: Responder) {}

  publish<S extends z.ZodType>(subject: string, schema: S, msg: z.input<S>): void {
    const parsed = parseWith(schema, msg);
    this.published.push({ subject, call: parsed });
    this.log.push(`publish ${subject}`);
    this.deliver(subject, parsed);
  }

  async request<C extends z.ZodType, R extends z.ZodType>(
    subject: string,
    callSchema: C,
    call: z.input<C>,
    resultSchema: R,
  ): Promise<z.infer<R>> {
    const parsed = parseWith(callSchema, call);
    this.requests.push({ subject, call: parsed });
    this.log.push(`request ${subject} ${(parsed as { type?: string }).type ?? ''}`.trim());
    if (!this.responder) throw new RequestTimeoutError(subject);
    const result = await this.responder(subject, parsed);
    return parseWith(resultSchema, result);
  }

  serve<S extends z.ZodType, Out>(
    _subject: string,
    _schema: S,
    _handler: RequestHandler<z.infer<S>, Out>,
  ): Unsubscribe {
    throw new BusError('FakeBus does not serve requests; set a responder instead', 'INTERNAL');
  }

  listen<S extends z.ZodType>(subject: string, schema: S, listener: Listener<z.infer<S>>): Unsubscribe {
    const id = this.nextId++;
    this.listeners.set(id, { subject, schema, fn: listener as Listener<unknown> });
    this.log.push(`listen ${subject}`);
    return () => {
      this.listeners.delete(id);
    };
  }

  /** deliver hands a message to every listener of the subject, validated by the listener's schema. */
  deliver(subject: string, msg: unknown): number {
    let n = 0;
    for (const l of [...this.listeners.values()]) {
      if (!matches(l.subject, subject)) continue;
      l.fn(parseWith(l.schema, msg), { subject });
      n++;
    }
    return n;
  }

  /** listening tells whether anyone listens on a subject. */
  listening(subject: string): boolean {
    return [...this.listeners.values()].some((l) => matches(l.subject, subject));
  }

  /** callsOfType lists the recorded requests whose call has this type. */
  callsOfType(type: string): unknown[] {
    return this.requests.map((r) => r.call).filter((c) => (c as { type?: string }).type === type);
  }

  async flush(): Promise<void> {
    this.log.push('flush');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
  }
}
