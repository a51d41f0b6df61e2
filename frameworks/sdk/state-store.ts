import { type KV, Kvm } from '@nats-io/kv';
import type { z } from 'zod';
import { afterCreateRaces, type Bus, decode, encode, NatsBus, parseWith } from '../../bus/index.js';

/** StateStoreOptions open a framework's JetStream KV bucket. */
export interface StateStoreOptions {
  /** A NatsBus (its connection carries JetStream). */
  bus: Bus;
  /** Bucket name: letters, digits, `-` and `_`. */
  bucket: string;
  /** Replicas of the bucket's stream (1 locally; 3 or 5 on a JetStream cluster). */
  replicas?: number;
}

/** StateStoreError says why the state store cannot be used. */
export class StateStoreError extends Error {
  override name = 'StateStoreError';
}

/**
 * StateStore is where a framework keeps what it must not forget across its own restart or a master
 * failover (desired state, ids, progress): a JetStream KV bucket of msgpack values validated by
 * zod on the way in and out. Keys are dot-separated tokens (`service.web`); `keys(prefix)` lists
 * them by prefix. A framework writes here before it acknowledges the status update that led to the
 * write, so nothing acknowledged is lost.
 */
export class StateStore {
  private constructor(private readonly kv: KV) {}

  /** open creates the bucket if it is missing (with `replicas`), or opens the one there. */
  static async open(opts: StateStoreOptions): Promise<StateStore> {
    if (!(opts.bus instanceof NatsBus)) throw new StateStoreError('a StateStore needs a NatsBus (JetStream)');
    if (!/^[A-Za-z0-9_-]+$/.test(opts.bucket))
      throw new StateStoreError(`invalid bucket name "${opts.bucket}"`);
    // Copies of a framework may open it at once: a create that loses that race tries again.
    const nc = opts.bus.nc;
    const kv = await afterCreateRaces(() =>
      new Kvm(nc).create(opts.bucket, { replicas: opts.replicas ?? 1, history: 1 }),
    );
    return new StateStore(kv);
  }

  /** get reads and validates a value; undefined when the key is absent or deleted. */
  async get<S extends z.ZodType>(key: string, schema: S): Promise<z.infer<S> | undefined> {
    const e = await this.kv.get(key);
    if (e?.operation !== 'PUT' || e.value.length === 0) return undefined;
    return parseWith(schema, decode(e.value, Number.MAX_SAFE_INTEGER));
  }

  /** put validates and writes a value. */
  async put<S extends z.ZodType>(key: string, schema: S, value: z.input<S>): Promise<void> {
    await this.kv.put(key, encode(parseWith(schema, value)));
  }

  /** delete removes a key (absent keys are fine). */
  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }

  /** keys lists the live keys that start with `prefix` (all keys when omitted). */
  async keys(prefix = ''): Promise<string[]> {
    const out: string[] = [];
    const it = await this.kv.keys(prefix ? `${prefix}>` : '>');
    for await (const k of it) out.push(k);
    // keys() can list keys whose last operation was a delete; keep the live ones.
    const live: string[] = [];
    for (const k of out) {
      const e = await this.kv.get(k);
      if (e && e.operation === 'PUT' && e.value.length > 0) live.push(k);
    }
    return live.sort();
  }
}
