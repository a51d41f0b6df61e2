import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  applyLeaseOutcome,
  checkLeaseTiming,
  defaultLeaseTiming,
  type HolderSighting,
  initialLeaseState,
  isLeaseValid,
  type LeaseOutcome,
  type LeaseState,
  type LeaseTiming,
  mayTakeOver,
  nextLeaseAction,
  noteProbe,
} from './lease-decision.js';
import type { LeaseLiveness, LivenessHandle } from './lease-liveness.js';
import type { Logger } from './log.js';

export * from './lease-decision.js';
export * from './lease-liveness.js';

/** LeaseHolding is what the lease key holds: who leads, since when, in which term. */
export interface LeaseHolding {
  holder: string;
  epoch: number;
  since: number;
  revision: number;
}

/**
 * LeaseStore is the lease key behind an interface: the KV bucket in production, a map in tests.
 * Writes resolve with the new revision; a write that lost to someone else's rejects with
 * LeaseHeldElsewhereError.
 */
export interface LeaseStore {
  create(value: Omit<LeaseHolding, 'revision'>): Promise<number>;
  update(value: Omit<LeaseHolding, 'revision'>, revision: number): Promise<number>;
  read(): Promise<LeaseHolding | undefined>;
  release(revision: number): Promise<void>;
}

/** LeaseHeldElsewhereError: the key exists, or changed since the revision the write expected. */
export class LeaseHeldElsewhereError extends Error {
  override name = 'LeaseHeldElsewhereError';
}

const LOST_RACE = /wrong last sequence|key exists|10071/i;

/**
 * A create that raced another contender's for the same bucket: nats-server may refuse the loser's
 * stream as overlapping the winner's (2.9), where an open would have found it.
 */
const CREATE_RACE = /subjects overlap|stream name already in use/i;

/**
 * openLeaseBucket creates (or opens) the KV bucket of leases, whose max_age is the lease ttl.
 * Contenders start together: a create that lost the race to create the same bucket tries again,
 * and opens the one the winner made.
 */
export function openLeaseBucket(
  nc: NatsConnection,
  bucket: string,
  opts: { ttlMs: number; replicas: number },
): Promise<KV> {
  return afterCreateRaces(() =>
    new Kvm(nc).create(bucket, { history: 1, ttl: opts.ttlMs, replicas: opts.replicas }),
  );
}

/** afterCreateRaces runs a create again (up to 5 times, 20 ms more apart each) while it loses a race. */
export async function afterCreateRaces<T>(create: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      if (attempt >= 5 || !CREATE_RACE.test(String((err as Error)?.message ?? err))) throw err;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

/** kvLeaseStore keeps one lease in one key of a KV bucket, as JSON. */
export function kvLeaseStore(kv: KV, key: string): LeaseStore {
  const encode = (v: Omit<LeaseHolding, 'revision'>) => JSON.stringify(v);
  const classify = (err: unknown): never => {
    if (LOST_RACE.test(String((err as Error)?.message ?? err)))
      throw new LeaseHeldElsewhereError(`lease ${key} is held elsewhere`, { cause: err });
    throw err;
  };
  return {
    create: (v) => kv.create(key, encode(v)).catch(classify),
    update: (v, revision) => kv.update(key, encode(v), revision).catch(classify),
    async read() {
      const e = await kv.get(key);
      if (e?.operation !== 'PUT' || e.length === 0) return undefined;
      const v = e.json<Partial<LeaseHolding>>();
      return {
        holder: String(v.holder),
        epoch: Number(v.epoch) > 0 ? Number(v.epoch) : e.revision,
        since: Number(v.since ?? 0),
        revision: e.revision,
      };
    },
    release: (revision) => kv.delete(key, { previousSeq: revision }).catch(classify),
  };
}

/** LeaseTerm is one term of leadership as the holder sees it. */
export interface LeaseTerm {
  holder: string;
  epoch: number;
  since: number;
}

/** LeaseOptions configure one contender. */
export interface LeaseOptions {
  store: LeaseStore;
  /** This contender's id, written into the key. */
  holder: string;
  timing?: Partial<LeaseTiming>;
  clock?: { now(): number };
  log: Logger;
  /**
   * Tells a dead holder from a slow one, so a standby takes over a killed leader's key at once
   * instead of after max_age. Without it, only expiry hands the lease over.
   */
  liveness?: LeaseLiveness;
  /** Called when this contender wins a term. */
  onElected?: (term: LeaseTerm) => void;
  /** Called once when a term ends: lost, not renewed in time, or released. Stop acting at once. */
  onDeposed?: (term: LeaseTerm, reason: string) => void;
}

/**
 * Lease contends for leadership on a LeaseStore: create to acquire, compare-and-set to renew,
 * the bucket's max_age to expire. The leader must check `isValid()` before each action: it turns
 * false the moment the lease may have expired (a paused process finds it false on waking), and a
 * lost compare-and-set deposes at once. Reusable by any component that needs one active instance.
 */
export class Lease {
  private state: LeaseState;
  private readonly timing: LeaseTiming;
  private readonly clock: { now(): number };
  private term: LeaseTerm | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private sighting: HolderSighting | undefined;
  private answering: LivenessHandle | undefined;

  constructor(private readonly opts: LeaseOptions) {
    this.timing = checkLeaseTiming({ ...defaultLeaseTiming, ...opts.timing });
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.state = initialLeaseState(this.clock.now());
  }

  /** start begins contending. */
  start(): void {
    if (this.loop) return;
    this.loop = this.announce()
      .then(() => this.run())
      .catch((err) => this.opts.log.error({ err }, 'lease loop failed'));
  }

  /** current is the term this contender holds and may act in, if any. */
  current(): LeaseTerm | undefined {
    return this.isValid() ? this.term : undefined;
  }

  /** isValid says whether this contender leads now; it deposes (asynchronously) when it no longer does. */
  isValid(): boolean {
    const ok = isLeaseValid(this.state, this.clock.now());
    if (!ok && this.term) queueMicrotask(() => this.depose('the lease expired before it was renewed'));
    return ok;
  }

  /** stop ends contending; a leader releases the key so that a standby takes over at once. */
  async stop(release = true): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const s = this.state;
    this.depose('stopped');
    this.state = { role: 'stopped' };
    this.wake?.();
    await this.loop;
    await this.answering?.stop();
    if (release && s.role === 'leader') {
      await this.opts.store
        .release(s.revision)
        .catch((err) =>
          this.opts.log.debug({ reason: (err as Error).message }, 'could not release the lease'),
        );
    }
  }

  /**
   * resign gives up a term this contender can no longer serve (its state could not be persisted):
   * it stops acting at once, releases the key and keeps contending, so a later term starts afresh.
   */
  async resign(reason: string): Promise<void> {
    const s = this.state;
    this.depose(reason);
    if (s.role === 'leader' && !this.stopped)
      await this.opts.store
        .release(s.revision)
        .catch((err) =>
          this.opts.log.debug({ reason: (err as Error).message }, 'could not release the lease'),
        );
  }

  private depose(reason: string): void {
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    clearTimeout(this.watchdog);
    if (this.state.role === 'leader')
      this.state = { role: 'candidate', nextAttemptAt: this.clock.now() + this.timing.pollEveryMs };
    this.opts.log.warn({ epoch: term.epoch, reason }, 'lease lost: stepping down');
    this.opts.onDeposed?.(term, reason);
  }

  /**
   * announce starts answering liveness probes before this contender first contends, retrying
   * while the bus is unavailable: a holder that did not answer could be taken over while alive.
   */
  private async announce(): Promise<void> {
    const liveness = this.opts.liveness;
    while (liveness && !this.stopped && !this.answering) {
      try {
        this.answering = await liveness.announce(this.opts.holder, () => {
          if (this.term) this.depose('the connection to NATS was lost: a standby may take over at once');
        });
      } catch (err) {
        this.opts.log.warn({ reason: String(err) }, 'cannot answer lease liveness probes yet; retrying');
        await this.sleep(this.timing.pollEveryMs);
      }
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const now = this.clock.now();
      const action = nextLeaseAction(this.state, now);
      if (action.kind === 'none') return;
      if (action.kind === 'wait') {
        await this.sleep(action.untilMs - now);
        continue;
      }
      if (action.kind === 'step-down') {
        this.depose(action.reason);
        continue;
      }
      const startedAt = this.clock.now();
      const outcome =
        action.kind === 'acquire' ? await this.acquire(startedAt) : await this.renew(action, startedAt);
      if (this.stopped) {
        // A term won while stopping is given back at once.
        if (outcome.kind === 'acquired') await this.opts.store.release(outcome.revision).catch(() => {});
        return;
      }
      const before = this.state;
      this.state = applyLeaseOutcome(this.state, outcome, this.clock.now(), this.timing);
      if (this.state.role === 'leader') {
        if (before.role !== 'leader' || before.epoch !== this.state.epoch) this.elected(this.state);
        this.arm(this.state.validUntil);
      } else if (before.role === 'leader') {
        this.depose(
          outcome.kind === 'held-elsewhere' ? 'another contender holds the lease' : 'renewal failed',
        );
      }
    }
  }

  private elected(s: Extract<LeaseState, { role: 'leader' }>): void {
    this.term = { holder: this.opts.holder, epoch: s.epoch, since: s.since };
    this.opts.log.info({ epoch: s.epoch }, 'lease acquired: leading');
    this.opts.onElected?.(this.term);
  }

  /** The watchdog deposes at validUntil even while a renewal hangs. */
  private arm(validUntil: number): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => {
        if (!isLeaseValid(this.state, this.clock.now())) this.depose('the lease was not renewed in time');
      },
      Math.max(0, validUntil - this.clock.now()),
    );
    this.watchdog.unref?.();
  }

  private async acquire(startedAt: number): Promise<LeaseOutcome> {
    const value = { holder: this.opts.holder, epoch: 0, since: startedAt };
    // A candidate polls often: a read while someone else holds the key costs the servers nothing
    // replicated, where a refused create would be a JetStream write each time.
    try {
      const held = await this.opts.store.read();
      if (held && held.holder !== this.opts.holder)
        return await this.takeOverIfGone(held, value, this.clock.now());
    } catch (err) {
      return { kind: 'failed', error: String(err) };
    }
    try {
      return { kind: 'acquired', revision: await this.opts.store.create(value), startedAt };
    } catch (err) {
      if (!(err instanceof LeaseHeldElsewhereError)) return { kind: 'failed', error: String(err) };
    }
    // Still ours from a term we stepped down from (a renewal that failed): nobody else can have
    // led since, so take it back with a compare-and-set, as a new term.
    try {
      const held = await this.opts.store.read();
      if (held?.holder !== this.opts.holder) return { kind: 'held-elsewhere' };
      return { kind: 'acquired', revision: await this.opts.store.update(value, held.revision), startedAt };
    } catch (err) {
      if (err instanceof LeaseHeldElsewhereError) return { kind: 'held-elsewhere' };
      return { kind: 'failed', error: String(err) };
    }
  }

  /**
   * takeOverIfGone takes a key over before it expires when the bus has said, in probes at least a
   * poll period apart with no renewal in between, that nobody answers for its holder any more
   * (its process died). The compare-and-set on the revision seen fails if the holder renewed.
   */
  private async takeOverIfGone(
    held: LeaseHolding,
    value: Omit<LeaseHolding, 'revision'>,
    readAt: number,
  ): Promise<LeaseOutcome> {
    const liveness = this.opts.liveness;
    if (!liveness) return { kind: 'held-elsewhere' };
    const verdict = await liveness.probe(held.holder);
    this.sighting = noteProbe(this.sighting, held, verdict, this.clock.now(), readAt);
    if (!mayTakeOver(this.sighting, this.clock.now(), this.timing)) return { kind: 'held-elsewhere' };
    this.sighting = undefined;
    const startedAt = this.clock.now();
    try {
      const revision = await this.opts.store.update(value, held.revision);
      this.opts.log.info(
        { holder: held.holder, revision: held.revision },
        'the lease holder is gone (nobody answers for it): took the lease over before it expired',
      );
      return { kind: 'acquired', revision, startedAt };
    } catch (err) {
      if (err instanceof LeaseHeldElsewhereError) return { kind: 'held-elsewhere' };
      return { kind: 'failed', error: String(err) };
    }
  }

  private async renew(a: { revision: number; epoch: number }, startedAt: number): Promise<LeaseOutcome> {
    const since = this.term?.since ?? startedAt;
    try {
      const revision = await this.opts.store.update(
        { holder: this.opts.holder, epoch: a.epoch, since },
        a.revision,
      );
      return { kind: 'renewed', revision, startedAt };
    } catch (err) {
      if (err instanceof LeaseHeldElsewhereError) return { kind: 'held-elsewhere' };
      this.opts.log.warn({ reason: String(err) }, 'lease renewal failed; retrying');
      return { kind: 'failed', error: String(err) };
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(1, ms));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
