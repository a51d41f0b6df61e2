import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyRegistryOps,
  emptyRegistry,
  type Registry,
  type RegistryOp,
  toSnapshot,
} from '../../actors/master/registry.js';
import { RegistryStore, RegistryWriteError } from '../../actors/master/registry-store.js';
import { encode, type NatsBus, silentLogger } from '../../bus/index.js';
import { AgentInfo, resources as R, subjects } from '../../protocol/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';

let nats: TestNats;
let bus: NatsBus;
beforeAll(async () => {
  nats = await startTestNats();
  bus = await nats.bus();
});
afterAll(async () => {
  await nats?.stop();
});

const agent = (id: string) =>
  AgentInfo.parse({ id, hostname: id, resources: R.parseResources('cpus:2;mem:512'), version: '0.1.0' });
const admitted = (id: string): RegistryOp => ({
  type: 'AGENT_ADMITTED',
  agent: agent(id),
  total: agent(id).resources,
});

async function open(prefix: string, snapshotEvery = 500) {
  return RegistryStore.open({
    nc: bus.nc,
    subjects: subjects(prefix),
    replicas: 1,
    log: silentLogger,
    snapshotEvery,
  });
}

async function write(store: RegistryStore, reg: Registry, ops: RegistryOp[]): Promise<Registry> {
  const after = applyRegistryOps(reg, ops);
  await store.append(ops, after);
  return after;
}

describe('registry store on JetStream', () => {
  it('reads back what a leader wrote, across snapshots, in order', async () => {
    const prefix = `${nats.prefix}a`;
    const a = await open(prefix, 3);
    let reg = await a.load();
    for (let i = 0; i < 7; i++) reg = await write(a, reg, [admitted(`a${i}`)]);
    reg = await write(a, reg, [
      { type: 'AGENT_UNREACHABLE', agentId: 'a2', since: 10 },
      { type: 'WEIGHTS_SET', weights: { eng: 2 } },
    ]);
    const loaded = await (await open(prefix, 3)).load();
    expect(toSnapshot(loaded)).toEqual(toSnapshot(reg));
    expect(loaded.agents.size).toBe(7);
  });

  it('fences a deposed leader: its write after a newer leader loaded and wrote fails', async () => {
    const prefix = `${nats.prefix}b`;
    const old = await open(prefix);
    const r0 = await write(old, await old.load(), [admitted('x')]);
    const fresh = await open(prefix);
    const r1 = await fresh.load();
    await write(fresh, r1, [admitted('y')]);
    await expect(write(old, r0, [admitted('z')])).rejects.toBeInstanceOf(RegistryWriteError);
    const loaded = await (await open(prefix)).load();
    expect([...loaded.agents.keys()].sort()).toEqual(['x', 'y']);
  });

  it('skips an op of a type it does not know and loads the rest', async () => {
    const prefix = `${nats.prefix}c`;
    const s = subjects(prefix);
    const store = await open(prefix);
    await write(store, emptyRegistry(), [admitted('p')]);
    // A newer version wrote an op this one cannot read, then a known one.
    const { jetstream } = await import('@nats-io/jetstream');
    await jetstream(bus.nc).publish(
      s.registryOps(),
      encode({ ops: [{ type: 'FROM_THE_FUTURE', x: 1 }, admitted('q')] }),
    );
    const loaded = await (await open(prefix)).load();
    expect([...loaded.agents.keys()].sort()).toEqual(['p', 'q']);
  });
});

describe('registry reads that fail', () => {
  /** failing makes the store's reads of the stream's messages fail when `fail` says, as a timeout would. */
  function failing(store: RegistryStore, fail: (query: { seq?: number; last_by_subj?: string }) => boolean) {
    const streams = (store as unknown as { jsm: { streams: { getMessage: (...a: unknown[]) => unknown } } })
      .jsm.streams;
    const real = streams.getMessage.bind(streams);
    streams.getMessage = (stream: unknown, query: unknown) =>
      fail(query as { seq?: number }) ? Promise.reject(new Error('TIMEOUT')) : real(stream, query);
  }

  it('throw instead of leaving out an acknowledged op or a snapshot, and a later load has them all', async () => {
    const prefix = `${nats.prefix}f`;
    const writer = await open(prefix, 3);
    let reg = await writer.load();
    for (let i = 0; i < 5; i++) reg = await write(writer, reg, [admitted(`f${i}`)]);
    reg = await write(writer, reg, [{ type: 'WEIGHTS_SET', weights: { eng: 4 } }]);

    const opsFail = await open(prefix, 3);
    failing(opsFail, (q) => q.seq !== undefined);
    await expect(opsFail.load()).rejects.toThrow(/TIMEOUT/);
    const snapshotFails = await open(prefix, 3);
    failing(snapshotFails, (q) => q.last_by_subj !== undefined);
    await expect(snapshotFails.load()).rejects.toThrow(/TIMEOUT/);

    const loaded = await (await open(prefix, 3)).load();
    expect(toSnapshot(loaded)).toEqual(toSnapshot(reg));
    expect(loaded.weights).toEqual({ eng: 4 });
  });
});

describe('a warm standby following the registry', () => {
  it('catches up with the ops written since it loaded, and across snapshots that purged them', async () => {
    const prefix = `${nats.prefix}warm`;
    const leader = await open(prefix, 5);
    let reg = await leader.load();
    for (let i = 0; i < 3; i++) reg = await write(leader, reg, [admitted(`a${i}`)]);
    const standby = await open(prefix, 4);
    let warm = await standby.load();
    expect(warm.agents.size).toBe(3);
    // Nothing written since: the same registry back, nothing read.
    expect(await standby.refresh(warm)).toBe(warm);
    // One more op, no snapshot yet (4 ops of 5): read incrementally.
    reg = await write(leader, reg, [{ type: 'AGENT_UNREACHABLE', agentId: 'a1', since: 5 }]);
    warm = await standby.refresh(warm);
    expect(toSnapshot(warm)).toEqual(toSnapshot(reg));
    // Enough ops for snapshots that purge what the standby has not read: it loads afresh.
    for (let i = 3; i < 12; i++) reg = await write(leader, reg, [admitted(`a${i}`)]);
    reg = await write(leader, reg, [{ type: 'WEIGHTS_SET', weights: { eng: 2 } }]);
    warm = await standby.refresh(warm);
    expect(toSnapshot(warm)).toEqual(toSnapshot(reg));
    expect(warm.agents.size).toBe(12);
    // The standby elected: its writes follow the leader's, so its fencing sequence is current.
    const after = await write(standby, warm, [admitted('b0')]);
    expect((await (await open(prefix, 4)).load()).agents.size).toBe(after.agents.size);
  });
});
