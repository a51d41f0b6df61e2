import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyRegistryOps,
  type Registry,
  type RegistryOp,
  toSnapshot,
} from '../../actors/master/registry.js';
import { RegistryStore } from '../../actors/master/registry-store.js';
import { type NatsBus, silentLogger } from '../../bus/index.js';
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

const open = (prefix: string, snapshotEvery = 500) =>
  RegistryStore.open({
    nc: bus.nc,
    subjects: subjects(prefix),
    replicas: 1,
    log: silentLogger,
    snapshotEvery,
  });

async function write(store: RegistryStore, reg: Registry, ops: RegistryOp[]): Promise<Registry> {
  const after = applyRegistryOps(reg, ops);
  await store.append(ops, after);
  return after;
}

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
