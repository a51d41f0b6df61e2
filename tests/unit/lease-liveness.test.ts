import { describe, expect, it } from 'vitest';
import {
  afterCreateRaces,
  type HolderVerdict,
  Lease,
  LeaseHeldElsewhereError,
  type LeaseHolding,
  type LeaseLiveness,
  type LeaseStore,
  mayTakeOver,
  noteProbe,
  silentLogger,
} from '../../bus/index.js';

const timing = { ttlMs: 20_000, renewEveryMs: 100, pollEveryMs: 20, safetyMs: 2_000 };

/** A lease key in memory, held at first by a holder the test controls. */
function memoryStore() {
  let held: LeaseHolding | undefined;
  let revision = 0;
  const writes: string[] = [];
  const store: LeaseStore = {
    async create(v) {
      if (held) throw new LeaseHeldElsewhereError('key exists');
      held = { ...v, revision: ++revision };
      writes.push(`create ${v.holder}`);
      return revision;
    },
    async update(v, rev) {
      if (!held || held.revision !== rev) throw new LeaseHeldElsewhereError('wrong last sequence');
      held = { ...v, revision: ++revision };
      writes.push(`update ${v.holder}`);
      return revision;
    },
    async read() {
      return held;
    },
    async release(rev) {
      if (held?.revision === rev) held = undefined;
    },
  };
  return { store, writes, held: () => held };
}

/** Liveness whose verdicts the test sets, recording each probe and announcement. */
function fakeLiveness(verdict: (holder: string) => HolderVerdict | Promise<HolderVerdict>) {
  const probes: { holder: string; at: number }[] = [];
  const announced: string[] = [];
  let lost: (() => void) | undefined;
  let gate: Promise<void> = Promise.resolve();
  const liveness: LeaseLiveness = {
    async announce(holder, onLost) {
      await gate;
      announced.push(holder);
      lost = onLost;
      return { stop: async () => {} };
    },
    async probe(holder) {
      probes.push({ holder, at: Date.now() });
      return verdict(holder);
    },
  };
  return {
    liveness,
    probes,
    announced,
    loseConnection: () => lost?.(),
    holdAnnouncement: (p: Promise<void>) => {
      gate = p;
    },
  };
}

/** contend starts a contender with liveness probes on a store. */
function contend(store: LeaseStore, liveness: LeaseLiveness, holder: string): Lease {
  const lease = new Lease({ store, holder, timing, log: silentLogger, liveness });
  lease.start();
  return lease;
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('noteProbe and mayTakeOver', () => {
  const held = { holder: 'a', revision: 4 };
  it('keeps since when a revision has stood and when probes first found nobody', () => {
    const first = noteProbe(undefined, held, 'gone', 1000);
    expect(first).toEqual({ holder: 'a', revision: 4, since: 1000, goneSince: 1000 });
    expect(noteProbe(first, held, 'gone', 1100)).toEqual(first);
    // An answer, or a probe that timed out, forgets the silence but not the revision's age.
    expect(noteProbe(first, held, 'alive', 1100)).toEqual({ holder: 'a', revision: 4, since: 1000 });
    expect(noteProbe(first, held, 'unknown', 1100)).toEqual({ holder: 'a', revision: 4, since: 1000 });
    const answered = noteProbe(first, held, 'alive', 1100);
    expect(noteProbe(answered, held, 'gone', 1200)).toEqual({
      holder: 'a',
      revision: 4,
      since: 1000,
      goneSince: 1200,
    });
    // A renewal or another holder starts afresh.
    expect(noteProbe(first, { holder: 'a', revision: 5 }, 'gone', 1100)).toEqual({
      holder: 'a',
      revision: 5,
      since: 1100,
      goneSince: 1100,
    });
    expect(noteProbe(first, { holder: 'b', revision: 4 }, 'alive', 1100)).toEqual({
      holder: 'b',
      revision: 4,
      since: 1100,
    });
  });

  it('dates a new revision from the read that found it, not from the end of a slow probe', () => {
    // Read at 1000, the probe then waited out its 100 ms timeout (the holder died with it in flight).
    const seen = noteProbe(undefined, held, 'unknown', 1100, 1000);
    expect(seen).toEqual({ holder: 'a', revision: 4, since: 1000 });
    // A later read of the same revision keeps that age; only a new revision takes its read time.
    expect(noteProbe(seen, held, 'gone', 1130, 1125)).toEqual({ ...seen, goneSince: 1130 });
    expect(noteProbe(seen, { holder: 'a', revision: 5 }, 'alive', 1130, 1125).since).toBe(1125);
  });

  it('allows a takeover only once the holder missed a renewal and probes a poll apart found nobody', () => {
    const stood = timing.renewEveryMs + 2 * timing.pollEveryMs;
    // Never while someone answered.
    expect(mayTakeOver({ holder: 'a', revision: 4, since: 0 }, 60_000, timing)).toBe(false);
    // Silent for long enough, but the revision is young: the holder may be renewing through JetStream.
    const young = { holder: 'a', revision: 4, since: 1000, goneSince: 1000 };
    expect(mayTakeOver(young, 1000 + stood - 1, timing)).toBe(false);
    expect(mayTakeOver(young, 1000 + stood, timing)).toBe(true);
    // An old revision, but only one probe so far.
    const once = { holder: 'a', revision: 4, since: 0, goneSince: 5000 };
    expect(mayTakeOver(once, 5000, timing)).toBe(false);
    expect(mayTakeOver(once, 5000 + timing.pollEveryMs - 1, timing)).toBe(false);
    expect(mayTakeOver(once, 5000 + timing.pollEveryMs, timing)).toBe(true);
  });
});

describe('a standby with liveness probes', () => {
  it('takes over the unexpired key of a holder nobody answers for, with a larger epoch', async () => {
    const m = memoryStore();
    const deadRevision = await m.store.create({ holder: 'dead', epoch: 0, since: 0 });
    const f = fakeLiveness((h) => (h === 'dead' ? 'gone' : 'alive'));
    const startedAt = Date.now();
    const lease = contend(m.store, f.liveness, 'standby');
    try {
      await until(() => lease.current() !== undefined);
      // Long before the 20 s key could have expired, and by a compare-and-set on the dead holder's revision.
      expect(Date.now() - startedAt).toBeLessThan(timing.ttlMs / 4);
      expect(m.writes).toEqual(['create dead', 'update standby']);
      expect(lease.current()?.epoch).toBeGreaterThan(deadRevision);
      // Not on one probe: the first and the last that found nobody are a poll period apart.
      expect(f.probes.length).toBeGreaterThanOrEqual(2);
      expect((f.probes.at(-1)?.at ?? 0) - f.probes[0].at).toBeGreaterThanOrEqual(timing.pollEveryMs - 5);
    } finally {
      await lease.stop();
    }
  });

  it.each<HolderVerdict>(['alive', 'unknown'])(
    'leaves the key alone while the holder is %s',
    async (verdict) => {
      const m = memoryStore();
      await m.store.create({ holder: 'slow', epoch: 0, since: 0 });
      const f = fakeLiveness(() => verdict);
      const lease = contend(m.store, f.liveness, 'standby');
      try {
        await until(() => f.probes.length >= 3);
        expect(lease.current()).toBeUndefined();
        expect(m.held()?.holder).toBe('slow');
        expect(m.writes).toEqual(['create slow']);
      } finally {
        await lease.stop();
      }
    },
  );

  it('never takes over a holder that keeps renewing, even while probes find nobody', async () => {
    const m = memoryStore();
    let rev = await m.store.create({ holder: 'live', epoch: 0, since: 0 });
    // The holder renews between any two of the standby's polls, however slow they are.
    const read = m.store.read.bind(m.store);
    m.store.read = async () => {
      rev = await m.store.update({ holder: 'live', epoch: 1, since: 0 }, rev);
      return read();
    };
    const f = fakeLiveness(() => 'gone');
    const lease = contend(m.store, f.liveness, 'standby');
    try {
      await until(() => f.probes.length >= 5);
      expect(lease.current()).toBeUndefined();
      expect(m.held()?.holder).toBe('live');
      expect(m.writes.filter((w) => w.includes('standby'))).toEqual([]);
    } finally {
      await lease.stop();
    }
  });

  it('does not take over when the holder renews between the probe and the compare-and-set', async () => {
    const m = memoryStore();
    let rev = await m.store.create({ holder: 'late', epoch: 0, since: 0 });
    const f = fakeLiveness(async (): Promise<HolderVerdict> => {
      // Each time, the holder's renewal lands while the probe is out (its subscription was briefly gone).
      rev = await m.store.update({ holder: 'late', epoch: 1, since: 0 }, rev);
      return 'gone';
    });
    const lease = contend(m.store, f.liveness, 'standby');
    try {
      await until(() => f.probes.length >= 3);
      expect(m.held()?.holder).toBe('late');
      expect(m.writes.filter((w) => w.includes('standby'))).toEqual([]);
      expect(lease.current()).toBeUndefined();
    } finally {
      await lease.stop();
    }
  });

  it('does not contend before it answers probes itself', async () => {
    const m = memoryStore();
    const f = fakeLiveness(() => 'alive');
    let open: () => void = () => {};
    f.holdAnnouncement(new Promise<void>((r) => (open = r)));
    const lease = contend(m.store, f.liveness, 'new');
    try {
      await sleep(timing.pollEveryMs * 5);
      expect(m.writes).toEqual([]);
      open();
      await until(() => lease.current() !== undefined);
      expect(f.announced).toEqual(['new']);
      expect(m.writes).toEqual(['create new']);
    } finally {
      await lease.stop();
    }
  });

  it('steps a leader down at once when it can no longer answer probes, and leads again once back', async () => {
    const m = memoryStore();
    const f = fakeLiveness(() => 'alive');
    const deposed: string[] = [];
    const lease = new Lease({
      store: m.store,
      holder: 'leader',
      timing,
      log: silentLogger,
      liveness: f.liveness,
      onDeposed: (_t, reason) => deposed.push(reason),
    });
    lease.start();
    try {
      await until(() => lease.current() !== undefined);
      const epoch = lease.current()?.epoch as number;
      f.loseConnection();
      expect(lease.isValid()).toBe(false);
      expect(deposed).toHaveLength(1);
      expect(deposed[0]).toMatch(/connection to NATS was lost/);
      // Nobody else took the key: it takes it back as a new term.
      await until(() => lease.current() !== undefined);
      expect(lease.current()?.epoch).toBeGreaterThan(epoch);
    } finally {
      await lease.stop();
    }
  });
});

describe('opening the lease bucket while others create it', () => {
  it('creates again after losing the race, and only then', async () => {
    let calls = 0;
    const racing = async () => {
      calls++;
      if (calls < 3) throw new Error('subjects overlap with an existing stream');
      return 'bucket';
    };
    expect(await afterCreateRaces(racing)).toBe('bucket');
    expect(calls).toBe(3);
    // Any other refusal is the caller's to handle, at once.
    calls = 0;
    await expect(
      afterCreateRaces(async () => {
        calls++;
        throw new Error('insufficient resources');
      }),
    ).rejects.toThrow('insufficient resources');
    expect(calls).toBe(1);
    // A race lost five times in a row is given up.
    calls = 0;
    await expect(
      afterCreateRaces(async () => {
        calls++;
        throw new Error('subjects overlap with an existing stream');
      }),
    ).rejects.toThrow('subjects overlap');
    expect(calls).toBe(5);
  });
});
