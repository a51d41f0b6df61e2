import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decode, encode, type Logger } from '../../bus/index.js';
import type { Subjects } from '../../protocol/index.js';
import {
  applyRegistryOps,
  emptyRegistry,
  fromSnapshot,
  parseRegistryOp,
  type Registry,
  type RegistryOp,
  toSnapshot,
  type UnknownRegistryOp,
} from './registry.js';

/** How many op batches a load asks for at once. */
const READ_WINDOW = 64;

/** RegistryWriteError is a registry write that did not go through; the leader must step down. */
export class RegistryWriteError extends Error {
  override name = 'RegistryWriteError';
}

/** registryStreamName is the JetStream stream of one cluster's registry. */
export function registryStreamName(prefix: string): string {
  return `MEZZO_REGISTRY_${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** RegistryStoreOptions configure the registry's persistence. */
export interface RegistryStoreOptions {
  nc: NatsConnection;
  subjects: Subjects;
  /** 3 on a 3-node NATS cluster, 1 on a single server. */
  replicas: number;
  log: Logger;
  /** Write a snapshot (and drop the ops it covers) after this many ops. */
  snapshotEvery?: number;
}

/**
 * RegistryStore persists the registry as a JetStream stream of op batches plus snapshots. Only
 * the leader writes, and every write expects the last op sequence this leader knows: a write
 * after someone else's (a newer leader) fails, and the writer steps down. Loading reads the last
 * snapshot and the ops after it.
 */
export class RegistryStore {
  private lastOpSeq = 0;
  private opsSinceSnapshot = 0;
  /** The stream's last sequence when it was last read (ops and snapshots alike). */
  private seenSeq = 0;
  /** The stream sequence of the snapshot the registry read last was built on (0: none). */
  private snapshotSeq = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly stream: string;

  private constructor(
    private readonly opts: RegistryStoreOptions,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {
    this.stream = registryStreamName(opts.subjects.prefix);
  }

  /** open makes sure the stream exists, with its replicas. */
  static async open(opts: RegistryStoreOptions): Promise<RegistryStore> {
    const jsm = await jetstreamManager(opts.nc);
    const name = registryStreamName(opts.subjects.prefix);
    const config = {
      name,
      subjects: [opts.subjects.registryOps(), opts.subjects.registrySnapshot()],
      num_replicas: opts.replicas,
    };
    try {
      await jsm.streams.info(name);
    } catch {
      await jsm.streams.add(config).catch(async (err) => {
        // Another master created it in the meantime.
        await jsm.streams.info(name).catch(() => {
          throw err;
        });
      });
    }
    return new RegistryStore(opts, jetstream(opts.nc), jsm);
  }

  /** load reads the registry: the last snapshot, then the ops after it. Unknown op types are skipped. */
  async load(): Promise<Registry> {
    for (;;) {
      const snap = await this.lastSnapshot();
      let reg = emptyRegistry();
      let from = 1;
      if (snap) {
        const body = snap.body();
        reg = fromSnapshot(body.registry);
        from = body.coveredSeq + 1;
      }
      const read = await this.readOps(reg, from);
      // A snapshot written meanwhile may have purged ops we had yet to read: read again from it.
      if ((await this.lastSnapshot())?.seq !== snap?.seq) continue;
      this.lastOpSeq = read.lastSeq;
      this.opsSinceSnapshot = read.ops;
      this.seenSeq = read.lastStreamSeq;
      this.snapshotSeq = snap?.seq ?? 0;
      this.opts.log.info(
        { agents: read.reg.agents.size, frameworks: read.reg.frameworks.size, ops: read.ops },
        'registry loaded',
      );
      return read.reg;
    }
  }

  /**
   * refresh brings a registry this store loaded up to date with what has been written since: only
   * the ops after the last one read, unless a snapshot has covered (and purged) some of those, in
   * which case it loads afresh. A standby master calls it while it waits, so that at its election
   * only the last few ops are left to read (a warm standby). Nothing written since: one request.
   */
  async refresh(reg: Registry): Promise<Registry> {
    const info = await this.jsm.streams.info(this.stream);
    if (info.state.last_seq <= this.seenSeq) return reg;
    const snap = await this.lastSnapshot();
    if (snap && snap.seq !== this.snapshotSeq) {
      if (snap.body().coveredSeq > this.lastOpSeq) return this.load();
    }
    const read = await this.readOps(reg, this.lastOpSeq + 1);
    if ((await this.lastSnapshot())?.seq !== snap?.seq) return this.load();
    this.lastOpSeq = read.lastSeq;
    this.opsSinceSnapshot += read.ops;
    this.seenSeq = read.lastStreamSeq;
    this.snapshotSeq = snap?.seq ?? 0;
    return read.reg;
  }

  /** lastSnapshot is the newest snapshot's stream sequence, its body decoded only when asked. */
  private async lastSnapshot(): Promise<
    { seq: number; body(): { coveredSeq: number; registry: unknown } } | undefined
  > {
    // null only when there is none; any other failure (a timeout while the cluster settles) throws:
    // read as "no snapshot", the ops it covered (purged) would be lost from the registry.
    const snap = await this.jsm.streams.getMessage(this.stream, {
      last_by_subj: this.opts.subjects.registrySnapshot(),
    });
    if (!snap) return undefined;
    return {
      seq: snap.seq,
      body: () => decode(snap.data, Number.MAX_SAFE_INTEGER) as { coveredSeq: number; registry: unknown },
    };
  }

  /**
   * readOps applies the op batches from sequence `from` to the stream's last, fetched a window at a
   * time (the requests of a window in flight together) and applied in order.
   */
  private async readOps(
    reg: Registry,
    from: number,
  ): Promise<{ reg: Registry; lastSeq: number; ops: number; lastStreamSeq: number }> {
    const { subjects, log } = this.opts;
    const info = await this.jsm.streams.info(this.stream);
    const last = info.state.last_seq;
    let lastSeq = Math.max(0, from - 1);
    let ops = 0;
    const unknown = (type: string) => log.warn({ type }, 'skipping a registry op of an unknown type');
    for (let start = Math.max(from, info.state.first_seq); start <= last; start += READ_WINDOW) {
      const seqs = Array.from({ length: Math.min(READ_WINDOW, last - start + 1) }, (_, i) => start + i);
      // null for a sequence that holds nothing (deleted); a failed read throws rather than skip an
      // acknowledged op (the caller loads again: a standby at its next refresh, a new leader by
      // resigning the term it could not start).
      const msgs = await Promise.all(seqs.map((seq) => this.jsm.streams.getMessage(this.stream, { seq })));
      const parsed: (RegistryOp | UnknownRegistryOp)[] = [];
      for (const [i, m] of msgs.entries()) {
        if (!m || m.subject !== subjects.registryOps()) continue;
        const batch = decode(m.data, Number.MAX_SAFE_INTEGER) as { ops?: unknown[] };
        for (const raw of batch.ops ?? []) {
          try {
            parsed.push(parseRegistryOp(raw));
          } catch (err) {
            log.error({ err, seq: seqs[i] }, 'skipping a malformed registry op');
          }
          ops++;
        }
        lastSeq = seqs[i];
      }
      reg = applyRegistryOps(reg, parsed, unknown);
    }
    return { reg, lastSeq, ops, lastStreamSeq: last };
  }

  /**
   * append persists a batch of ops, after every batch appended before it. `after` is the registry
   * with them applied, for the periodic snapshot. Rejects with RegistryWriteError.
   */
  append(ops: readonly RegistryOp[], after: Registry): Promise<void> {
    const run = this.chain.then(() => this.write(ops, after));
    this.chain = run.catch(() => {});
    return run;
  }

  private async write(ops: readonly RegistryOp[], after: Registry): Promise<void> {
    const { subjects } = this.opts;
    try {
      const ack = await this.js.publish(subjects.registryOps(), encode({ ops }), {
        expect: { lastSubjectSequence: this.lastOpSeq },
        timeout: 10_000,
      });
      this.lastOpSeq = ack.seq;
    } catch (err) {
      throw new RegistryWriteError(`registry write failed: ${(err as Error).message}`, { cause: err });
    }
    this.opsSinceSnapshot += ops.length;
    if (this.opsSinceSnapshot >= (this.opts.snapshotEvery ?? 500)) {
      await this.snapshot(after).catch((err) =>
        this.opts.log.warn({ reason: (err as Error).message }, 'could not write a registry snapshot'),
      );
    }
  }

  private async snapshot(reg: Registry): Promise<void> {
    const { subjects } = this.opts;
    const coveredSeq = this.lastOpSeq;
    await this.js.publish(subjects.registrySnapshot(), encode({ coveredSeq, registry: toSnapshot(reg) }));
    this.opsSinceSnapshot = 0;
    // Keep the covered op itself: the next write's expected last sequence is its sequence.
    await this.jsm.streams.purge(this.stream, { filter: subjects.registryOps(), seq: coveredSeq });
    await this.jsm.streams.purge(this.stream, { filter: subjects.registrySnapshot(), keep: 1 });
  }
}
