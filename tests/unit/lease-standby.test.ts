import { describe, expect, it } from 'vitest';
import {
  Lease,
  LeaseHeldElsewhereError,
  type LeaseHolding,
  type LeaseStore,
  silentLogger,
} from '../../bus/index.js';

/** A lease key in memory that counts what each contender does to it. */
function memoryStore() {
  let held: LeaseHolding | undefined;
  let revision = 0;
  const calls = { create: 0, update: 0, read: 0 };
  const store: LeaseStore = {
    async create(v) {
      calls.create++;
      if (held) throw new LeaseHeldElsewhereError('key exists');
      held = { ...v, revision: ++revision };
      return revision;
    },
    async update(v, rev) {
      calls.update++;
      if (!held || held.revision !== rev) throw new LeaseHeldElsewhereError('wrong last sequence');
      held = { ...v, revision: ++revision };
      return revision;
    },
    async read() {
      calls.read++;
      return held;
    },
    async release(rev) {
      if (held?.revision === rev) held = undefined;
    },
  };
  return { store, calls, expire: () => (held = undefined), holder: () => held?.holder };
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a standby polling the lease', () => {
  it('only reads the key while another contender holds it, and creates it once it is gone', async () => {
    const m = memoryStore();
    await m.store.create({ holder: 'other', epoch: 0, since: 0 });
    m.calls.create = 0;
    const lease = new Lease({
      store: m.store,
      holder: 'standby',
      timing: { ttlMs: 1000, renewEveryMs: 150, pollEveryMs: 20, safetyMs: 200 },
      log: silentLogger,
    });
    lease.start();
    try {
      await until(() => m.calls.read >= 5);
      // Polled several times, never a write: a refused create would be a replicated write each time.
      expect(m.calls.create).toBe(0);
      expect(m.calls.update).toBe(0);
      expect(lease.current()).toBeUndefined();
      // The holder's key expires (max_age): the standby takes it at its next poll.
      m.expire();
      await until(() => lease.current() !== undefined);
      expect(m.holder()).toBe('standby');
      expect(m.calls.create).toBe(1);
    } finally {
      await lease.stop();
    }
  });
});
