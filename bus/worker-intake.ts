import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ZodType } from 'zod';
import * as protocol from '../protocol/index.js';
import { parseWith } from './bus.js';
import { decode } from './codec.js';
import { BusError, TooLargeError } from './errors.js';
import type { IntakeBatch, IntakeReply, IntakeWarmUp, IntakeWorkerData } from './intake-messages.js';
import { chooseRoute, IntakeRoute, laneOf } from './intake-route.js';
import type { Logger } from './log.js';
import { LinkDecoder } from './record-link.js';

/** IntakeVerdict is a message parsed by its schema, or the error its sender is answered with. */
export type IntakeVerdict = { ok: true; value: unknown } | { ok: false; error: BusError };

/**
 * MessageIntake decodes and validates the messages a subscription receives, possibly off the
 * calling thread, and hands back each verdict in the order each sender's messages arrived.
 */
export interface MessageIntake {
  /** The schema every message is checked with; the bus refuses to serve another through it. */
  readonly schema: ZodType;
  /** submit parses one message from `key` (its subject) and calls `done` with the verdict, once. */
  submit(key: string, data: Uint8Array, limit: number, done: (v: IntakeVerdict) => void): void;
}

/** WorkerIntakeOptions shape a WorkerIntake. */
export interface WorkerIntakeOptions {
  /** The schema's export name in protocol/ (e.g. `AgentToMaster`): the workers import it from there. */
  schemaName: string;
  /** Worker threads (0: parse everything on the calling thread). */
  workers: number;
  /** Messages smaller than this are parsed on the calling thread unless their sender has one in a worker. */
  minBytes: number;
  /** A typical message each worker parses a number of times before it is ready (IntakeWarmUp). */
  warmUp?: IntakeWarmUp;
  log: Logger;
}

/** IntakeStats count where messages were parsed, and the workers that are up. */
export interface IntakeStats {
  inline: number;
  offThread: number;
  /** Hand-overs to the workers (each carries every message that arrived in one turn). */
  batches: number;
  rejected: number;
  workersReady: number;
  /** Worker threads started and not yet exited (0 once `close()` has resolved). */
  workersLive: number;
}

interface Pending {
  key: string;
  done: (v: IntakeVerdict) => void;
}

interface Lane {
  worker?: Worker;
  ready: boolean;
  dead: boolean;
  pending: Pending[];
  /** The messages not yet handed over (views into the connection's read buffers), and their size. */
  views: Uint8Array[];
  used: number;
  flushQueued: boolean;
  decoder: LinkDecoder;
}

/** intakeWorkerPath is the built worker, next to this module in dist/, or under dist/ from the source. */
export function intakeWorkerPath(): string {
  const sibling = fileURLToPath(new URL('./intake-worker.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  return fileURLToPath(new URL('../dist/bus/intake-worker.js', import.meta.url));
}

/**
 * WorkerIntake parses large messages in worker threads (decode and zod, the same schema, by name,
 * from protocol/) so that the thread that handles them does not: a new leader's 10,000 REGISTERs
 * after a failover spent about 110 us each of its only thread on msgpack and zod. A worker hands
 * back zod's output packed as link records (6 us to unpack) or the error to answer with. Each
 * sender keeps one lane (worker); its messages reach `done` in the order they arrived. A worker
 * starts on the first large message (until it is ready, messages are parsed inline); one that
 * fails answers what it held with UNAVAILABLE and its lane parses inline from then on.
 */
export class WorkerIntake implements MessageIntake {
  readonly schema: ZodType;
  private readonly lanes: Lane[];
  private readonly inFlight = new Map<string, number>();
  private readonly counts = { inline: 0, offThread: 0, rejected: 0, batches: 0 };
  private closed = false;
  private live = 0;

  constructor(private readonly opts: WorkerIntakeOptions) {
    const schema = (protocol as Record<string, unknown>)[opts.schemaName] as ZodType | undefined;
    if (!schema || typeof schema.safeParse !== 'function')
      throw new Error(`WorkerIntake: protocol has no schema named ${opts.schemaName}`);
    if (!Number.isInteger(opts.workers) || opts.workers < 0)
      throw new Error(`WorkerIntake: workers must be a whole number >= 0, not ${opts.workers}`);
    this.schema = schema;
    this.lanes = Array.from({ length: opts.workers }, () => ({
      ready: false,
      dead: false,
      pending: [],
      views: [],
      used: 0,
      flushQueued: false,
      decoder: new LinkDecoder(),
    }));
  }

  submit(key: string, data: Uint8Array, limit: number, done: (v: IntakeVerdict) => void): void {
    if (data.byteLength > limit) {
      this.counts.rejected++;
      done({ ok: false, error: new TooLargeError(data.byteLength, limit) });
      return;
    }
    const lane = this.lanes.length ? this.lanes[laneOf(key, this.lanes.length)] : undefined;
    const route = chooseRoute(
      data.byteLength,
      this.inFlight.get(key) ?? 0,
      !!lane?.ready,
      this.opts.minBytes,
    );
    if (route === IntakeRoute.INLINE || !lane) {
      if (lane && !lane.worker && !lane.dead && !this.closed && data.byteLength >= this.opts.minBytes)
        this.start(lane);
      this.counts.inline++;
      let verdict: IntakeVerdict;
      try {
        verdict = { ok: true, value: parseWith(this.schema, decode(data, limit)) };
      } catch (err) {
        this.counts.rejected++;
        verdict = { ok: false, error: asBusError(err) };
      }
      done(verdict);
      return;
    }
    this.counts.offThread++;
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    lane.pending.push({ key, done });
    // The connection hands each read to its callbacks and never writes into it again, so the view
    // stays valid until the batch is copied out at the end of this turn.
    lane.views.push(data);
    lane.used += data.byteLength;
    if (!lane.flushQueued) {
      lane.flushQueued = true;
      // Everything the connection delivers in one read goes over in one batch.
      queueMicrotask(() => this.flush(lane));
    }
  }

  /**
   * prestart starts the workers now rather than at the first large message: for a master about
   * to be sent thousands of REGISTERs (a new leader), whose first ones would otherwise be parsed
   * on its own thread while a worker boots (about 0.2 s).
   */
  prestart(): void {
    for (const lane of this.lanes) if (!lane.worker && !lane.dead && !this.closed) this.start(lane);
  }

  /** stats says where messages were parsed so far. */
  stats(): IntakeStats {
    return { ...this.counts, workersReady: this.lanes.filter((l) => l.ready).length, workersLive: this.live };
  }

  /** close stops the workers; what they still held is answered UNAVAILABLE, later messages parse inline. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const workers: Worker[] = [];
    for (const lane of this.lanes) {
      lane.ready = false;
      lane.dead = true;
      if (lane.worker) workers.push(lane.worker);
      lane.worker = undefined;
      this.failAll(lane, 'the intake is closing');
    }
    await Promise.all(workers.map((w) => w.terminate().catch(() => 0)));
  }

  private start(lane: Lane): void {
    const worker = new Worker(intakeWorkerPath(), {
      workerData: {
        schemaName: this.opts.schemaName,
        ...(this.opts.warmUp ? { warmUp: this.opts.warmUp } : {}),
      } satisfies IntakeWorkerData,
    });
    worker.unref();
    this.live++;
    worker.once('exit', () => this.live--);
    lane.worker = worker;
    worker.on('message', (reply: IntakeReply) => {
      if (lane.worker !== worker) return;
      if (reply.kind === 'ready') lane.ready = true;
      else if (reply.kind === 'warm-up-failed')
        this.opts.log.warn({ reason: reply.message }, 'intake worker: the warm-up sample does not parse');
      else this.deliver(lane, reply);
    });
    const fail = (why: string) => {
      if (lane.worker !== worker) return;
      lane.worker = undefined;
      lane.ready = false;
      lane.dead = true;
      this.opts.log.error({ reason: why }, 'intake worker stopped: parsing on the main thread from now on');
      this.failAll(lane, `the intake worker stopped: ${why}`);
    };
    worker.on('error', (err) => fail(err.message));
    worker.on('exit', (code) => fail(`exited with code ${code}`));
  }

  private flush(lane: Lane): void {
    lane.flushQueued = false;
    if (!lane.worker || lane.views.length === 0) return;
    // One unpooled buffer of exactly the batch's size, moved (not copied) to the worker.
    const data = new Uint8Array(Buffer.allocUnsafeSlow(lane.used).buffer, 0, lane.used);
    const ends: number[] = [];
    let at = 0;
    for (const v of lane.views) {
      data.set(v, at);
      at += v.byteLength;
      ends.push(at);
    }
    lane.views = [];
    lane.used = 0;
    this.counts.batches++;
    lane.worker.postMessage({ data, ends } satisfies IntakeBatch, [data.buffer as ArrayBuffer]);
  }

  private deliver(lane: Lane, reply: Extract<IntakeReply, { kind: 'parsed' }>): void {
    if (reply.structures) lane.decoder.update(reply.structures);
    let failure = 0;
    let start = 0;
    for (let i = 0; i < reply.ends.length; i++) {
      const end = reply.ends[i];
      const p = lane.pending.shift();
      if (!p) break;
      this.settled(p.key);
      let verdict: IntakeVerdict;
      const error = reply.errors[failure];
      if (error && error[0] === i) {
        failure++;
        this.counts.rejected++;
        verdict = { ok: false, error: new BusError(error[2], error[1]) };
      } else {
        try {
          verdict = { ok: true, value: lane.decoder.decode(reply.data.subarray(start, end)) };
        } catch (err) {
          verdict = { ok: false, error: new BusError(`intake: ${(err as Error).message}`, 'INTERNAL') };
        }
      }
      start = end;
      this.call(p, verdict);
    }
  }

  private failAll(lane: Lane, why: string): void {
    const pending = lane.pending;
    lane.pending = [];
    lane.views = [];
    lane.used = 0;
    for (const p of pending) {
      this.settled(p.key);
      this.call(p, { ok: false, error: new BusError(why, 'UNAVAILABLE') });
    }
  }

  private settled(key: string): void {
    const n = (this.inFlight.get(key) ?? 1) - 1;
    if (n > 0) this.inFlight.set(key, n);
    else this.inFlight.delete(key);
  }

  private call(p: Pending, verdict: IntakeVerdict): void {
    try {
      p.done(verdict);
    } catch (err) {
      this.opts.log.error({ err, subject: p.key }, 'intake: handling a parsed message failed');
    }
  }
}

function asBusError(err: unknown): BusError {
  return err instanceof BusError ? err : new BusError((err as Error)?.message ?? String(err), 'INTERNAL');
}
