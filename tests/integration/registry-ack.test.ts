import { describe, expect, it } from 'vitest';
import { defaultLeadershipConfig, startMaster } from '../../actors/master/index.js';
import { emptyRegistry, type RegistryOp } from '../../actors/master/registry.js';
import { silentLogger } from '../../bus/index.js';
import { Operator } from '../../frameworks/sdk/index.js';
import { subjects as makeSubjects } from '../../protocol/index.js';
import { testScope } from '../support/scope.js';

/**
 * A leader applies a registry change to its own view as it sends the write. A second call that
 * asks for the same change (an operator retrying a call that timed out while JetStream elected a
 * stream leader) then needs no write of its own: it must still be acknowledged only once the
 * first write is durable, and fail with it. Acknowledged at once, it was lost when that write
 * failed (tests/integration/failover-nats.test.ts caught it under load).
 */
const scope = testScope();

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function leaderWithSlowStore() {
  const nats = await scope.startNats();
  const prefix = `${nats.prefix}r`;
  const writes: { ops: readonly RegistryOp[]; done: ReturnType<typeof deferred> }[] = [];
  const steppedDown: string[] = [];
  const master = await startMaster({
    bus: await nats.bus('m'),
    subjects: makeSubjects(prefix),
    log: silentLogger,
    config: { masterId: 'm-slow' },
    leader: {
      epoch: 1,
      electedAt: Date.now(),
      registry: emptyRegistry(),
      store: {
        append(ops) {
          const done = deferred();
          writes.push({ ops, done });
          return done.promise;
        },
      },
      isValid: () => steppedDown.length === 0,
      stepDown: (reason) => void steppedDown.push(reason),
      config: defaultLeadershipConfig(),
    },
  });
  scope.defer(() => master.stop());
  const operator = await Operator.connect({ nats: await nats.bus('op'), prefix, timeoutMs: 5000 });
  scope.defer(() => operator.close());
  return { operator, writes, steppedDown };
}

const settled = <T>(p: Promise<T>) =>
  p.then(
    (v) => ({ ok: true as const, v }),
    (e: Error) => ({ ok: false as const, e }),
  );
const tick = () => new Promise((r) => setTimeout(r, 100));

describe('a registry change asked for again while its write is pending', () => {
  it('is acknowledged only when that write is durable', async () => {
    const { operator, writes } = await leaderWithSlowStore();
    const first = settled(operator.updateWeights({ eng: 4 }));
    await tick();
    expect(writes).toHaveLength(1);
    let secondDone = false;
    const second = settled(operator.updateWeights({ eng: 4 })).finally(() => {
      secondDone = true;
    });
    await tick();
    // No second write: the first holds the change. Nor an answer before it is durable.
    expect(writes).toHaveLength(1);
    expect(secondDone).toBe(false);
    writes[0].done.resolve();
    expect((await first).ok).toBe(true);
    expect((await second).ok).toBe(true);
    // A call whose change is already durable is answered at once.
    expect((await settled(operator.updateWeights({ eng: 4 }))).ok).toBe(true);
    expect(writes).toHaveLength(1);
  });

  it('fails with that write, as the first call does', async () => {
    const { operator, writes, steppedDown } = await leaderWithSlowStore();
    const first = settled(operator.updateWeights({ eng: 4 }));
    await tick();
    const second = settled(operator.updateWeights({ eng: 4 }));
    await tick();
    writes[0].done.reject(new Error('no quorum'));
    const [a, b] = await Promise.all([first, second]);
    expect(a.ok).toBe(false);
    expect(b.ok).toBe(false);
    expect(steppedDown).toHaveLength(1);
  });
});
