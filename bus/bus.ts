import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import { type ErrorBody, ErrorCode, Limits } from '../protocol/index.js';
import { decode, encode } from './codec.js';
import { BusError, formatIssues, RemoteError, RequestTimeoutError, ValidationError } from './errors.js';
import type { Logger } from './log.js';
import type { MessageIntake } from './worker-intake.js';

/** Context tells a handler where a message came from. */
export interface MessageContext {
  subject: string;
  /**
   * afterReply runs `fn` once the handler's answer has been encoded (or has failed, or needs no
   * reply): what the answer lent out, such as a task table's working buffers, may be reused then.
   * Only requests have it.
   */
  afterReply?(fn: () => void): void;
}

/** Handler answers a validated request; throwing a BusError answers with its code. */
export type RequestHandler<In, Out> = (msg: In, ctx: MessageContext) => Out | Promise<Out>;
/** Listener takes a validated message that expects no answer. */
export type Listener<In> = (msg: In, ctx: MessageContext) => void;

/** Unsubscribe stops a subscription. */
export type Unsubscribe = () => void;

/**
 * Bus is the transport as actors' runtimes see it: every message in and out is validated against
 * its schema, malformed input is logged and answered with a typed error, and nothing else leaks.
 */
export interface Bus {
  publish<S extends z.ZodType>(subject: string, schema: S, msg: z.input<S>): void;
  /**
   * publishUnchecked sends a message its sender built from input it validated itself, without a
   * second validation (the master's per-task hot path). Optional: callers fall back to publish.
   */
  publishUnchecked?(subject: string, msg: unknown): void;
  request<C extends z.ZodType, R extends z.ZodType>(
    subject: string,
    callSchema: C,
    call: z.input<C>,
    resultSchema: R,
    /**
     * unchecked: send `call` without validating it first, for a sender that built it from input it
     * validated itself (the simulator's REGISTERs); the receiver still validates it, and the reply
     * is always checked.
     */
    opts?: { timeoutMs?: number; unchecked?: boolean },
  ): Promise<z.infer<R>>;
  serve<S extends z.ZodType, Out>(
    subject: string,
    schema: S,
    handler: RequestHandler<z.infer<S>, Out>,
    /** intake: decode and validate through it (e.g. in a worker thread) rather than inline; same schema. */
    opts?: { queue?: string; intake?: MessageIntake },
  ): Unsubscribe;
  listen<S extends z.ZodType>(subject: string, schema: S, listener: Listener<z.infer<S>>): Unsubscribe;
  /**
   * overhear receives what is sent to a subject someone else serves, and never answers: requests
   * included (their senders wait for the server's reply, not this one). Messages that do not
   * decode or validate are dropped. Optional: a standby follows the agents through it.
   */
  overhear?<S extends z.ZodType>(
    subject: string,
    schema: S,
    listener: Listener<z.infer<S>>,
    opts?: { intake?: MessageIntake },
  ): Unsubscribe;
  /** Waits until the server has seen everything sent so far (subscriptions included). */
  flush(): Promise<void>;
  /** Drains subscriptions and closes the connection. */
  close(): Promise<void>;
}

/** parseWith validates a decoded value, turning zod errors into a ValidationError. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationError(formatIssues(r.error), r.error);
  return r.data;
}

/**
 * readReply opens the reply to a request on `subject`: the result checked with `resultSchema`, or
 * the error it carries thrown as a RemoteError.
 */
export function readReply<R extends z.ZodType>(
  subject: string,
  reply: Uint8Array,
  resultSchema: R,
): z.infer<R> {
  const body = decode(reply, Number.MAX_SAFE_INTEGER) as {
    ok?: unknown;
    result?: unknown;
    error?: ErrorBody;
  };
  if (body?.ok === true) return parseWith(resultSchema, body.result);
  if (body?.ok === false && body.error) throw new RemoteError(body.error.message, body.error.code);
  throw new BusError(`malformed reply on ${subject}`, ErrorCode.INTERNAL);
}

function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof BusError) return { code: err.code, message: err.message };
  return { code: ErrorCode.INTERNAL, message: (err as Error)?.message ?? String(err) };
}

/** NatsBus is the Bus over a nats.js connection. */
export class NatsBus implements Bus {
  private readonly subs = new Set<Subscription>();

  constructor(
    readonly nc: NatsConnection,
    private readonly log: Logger,
    private readonly maxBytes: number = Limits.maxMessageBytes,
  ) {}

  publish<S extends z.ZodType>(subject: string, schema: S, msg: z.input<S>): void {
    this.nc.publish(subject, encode(parseWith(schema, msg)));
  }

  publishUnchecked(subject: string, msg: unknown): void {
    this.nc.publish(subject, encode(msg));
  }

  async request<C extends z.ZodType, R extends z.ZodType>(
    subject: string,
    callSchema: C,
    call: z.input<C>,
    resultSchema: R,
    opts: { timeoutMs?: number; unchecked?: boolean } = {},
  ): Promise<z.infer<R>> {
    return this.requestEncoded(
      subject,
      encode(opts.unchecked ? call : parseWith(callSchema, call)),
      resultSchema,
      opts.timeoutMs,
    );
  }

  /**
   * requestEncoded sends a call its sender encoded itself (once, and validated then if it
   * validates: the simulator re-sends an unchanged REGISTER as it was) and checks the reply.
   */
  async requestEncoded<R extends z.ZodType>(
    subject: string,
    payload: Uint8Array,
    resultSchema: R,
    timeoutMs = 5000,
  ): Promise<z.infer<R>> {
    let reply: Uint8Array;
    try {
      reply = (await this.nc.request(subject, payload, { timeout: timeoutMs })).data;
    } catch (err) {
      throw new RequestTimeoutError(subject, err);
    }
    return readReply(subject, reply, resultSchema);
  }

  serve<S extends z.ZodType, Out>(
    subject: string,
    schema: S,
    handler: RequestHandler<z.infer<S>, Out>,
    opts: { queue?: string; intake?: MessageIntake } = {},
  ): Unsubscribe {
    const intake = opts.intake;
    if (intake && intake.schema !== schema)
      throw new Error(`serve ${subject}: the intake checks another schema`);
    return this.subscribe(subject, opts.queue, (data, msgSubject, respond) =>
      this.parsed(schema, intake, data, msgSubject, (parse) =>
        this.answer(msgSubject, respond, handler, parse),
      ),
    );
  }

  /**
   * parsed hands `then` the parse of one message: decoded and validated here, or the verdict of
   * the intake (a worker) when there is one. The parse throws what made the message invalid.
   */
  private parsed<S extends z.ZodType>(
    schema: S,
    intake: MessageIntake | undefined,
    data: Uint8Array,
    msgSubject: string,
    then: (parse: () => z.infer<S>) => unknown,
  ): void {
    if (!intake) {
      then(() => parseWith(schema, decode(data, this.maxBytes)));
      return;
    }
    intake.submit(msgSubject, data, this.maxBytes, (v) =>
      then(() => {
        if (!v.ok) throw v.error;
        return v.value as z.infer<S>;
      }),
    );
  }

  /** answer runs a request's handler on the message `parse` gives and replies with its result or error. */
  private async answer<In, Out>(
    msgSubject: string,
    respond: ((b: Uint8Array) => void) | undefined,
    handler: RequestHandler<In, Out>,
    parse: () => In,
  ): Promise<void> {
    let answer: { ok: true; result: Out } | { ok: false; error: ErrorBody };
    const after: (() => void)[] = [];
    try {
      const msg = parse();
      const ctx = { subject: msgSubject, afterReply: (fn: () => void) => void after.push(fn) };
      answer = { ok: true, result: await handler(msg, ctx) };
    } catch (err) {
      const error = toErrorBody(err);
      if (error.code === ErrorCode.INTERNAL) this.log.error({ err, subject: msgSubject }, 'handler failed');
      else
        this.log.warn({ subject: msgSubject, code: error.code, reason: error.message }, 'rejected request');
      answer = { ok: false, error };
    }
    try {
      if (respond) respond(encode(answer));
    } catch (err) {
      this.log.error({ err, subject: msgSubject }, 'could not send reply');
    } finally {
      for (const fn of after) {
        try {
          fn();
        } catch (err) {
          this.log.error({ err, subject: msgSubject }, 'after-reply step failed');
        }
      }
    }
  }

  listen<S extends z.ZodType>(subject: string, schema: S, listener: Listener<z.infer<S>>): Unsubscribe {
    return this.subscribe(subject, undefined, (data, msgSubject, respond) => {
      try {
        listener(parseWith(schema, decode(data, this.maxBytes)), { subject: msgSubject });
      } catch (err) {
        const error = toErrorBody(err);
        if (error.code === ErrorCode.INTERNAL)
          this.log.error({ err, subject: msgSubject }, 'listener failed');
        else
          this.log.warn({ subject: msgSubject, code: error.code, reason: error.message }, 'dropped message');
        // A malformed message sent as a request still deserves an answer.
        respond?.(encode({ ok: false, error }));
      }
    });
  }

  overhear<S extends z.ZodType>(
    subject: string,
    schema: S,
    listener: Listener<z.infer<S>>,
    opts: { intake?: MessageIntake } = {},
  ): Unsubscribe {
    const intake = opts.intake;
    if (intake && intake.schema !== schema)
      throw new Error(`overhear ${subject}: the intake checks another schema`);
    const hear = (msgSubject: string, parse: () => z.infer<S>) => {
      try {
        listener(parse(), { subject: msgSubject });
      } catch (err) {
        this.log.debug(
          { subject: msgSubject, reason: (err as Error).message },
          'dropped an overheard message',
        );
      }
    };
    return this.subscribe(subject, undefined, (data, msgSubject) =>
      this.parsed(schema, intake, data, msgSubject, (parse) => hear(msgSubject, parse)),
    );
  }

  private subscribe(
    subject: string,
    queue: string | undefined,
    onMessage: (data: Uint8Array, subject: string, respond?: (b: Uint8Array) => void) => void | Promise<void>,
  ): Unsubscribe {
    const sub = this.nc.subscribe(subject, {
      queue,
      callback: (err, msg) => {
        if (err) {
          this.log.error({ err, subject }, 'subscription error');
          return;
        }
        const respond = msg.reply ? (b: Uint8Array) => void msg.respond(b) : undefined;
        void Promise.resolve(onMessage(msg.data, msg.subject, respond)).catch((e) =>
          this.log.error({ err: e, subject: msg.subject }, 'message handling failed'),
        );
      },
    });
    this.subs.add(sub);
    return () => {
      this.subs.delete(sub);
      sub.unsubscribe();
    };
  }

  flush(): Promise<void> {
    return this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    try {
      await this.nc.drain();
    } catch {
      await this.nc.close();
    }
  }
}
