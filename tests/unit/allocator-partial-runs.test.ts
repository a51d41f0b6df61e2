import { describe, expect, it } from 'vitest';
import { type Allocation, HierarchicalAllocator } from '../../actors/master/allocator/index.js';
import { resources as R } from '../../protocol/index.js';

const res = R.parseResources;
const who = (out: Allocation[]) => out.map((o) => `${o.frameworkId}@${o.agentId}`).sort();

/** cluster: `n` agents, framework f, every agent offered once and declined for good (skip-cached). */
function settled(n: number) {
  const a = new HierarchicalAllocator({ seed: 3 });
  a.addFramework('f', { roles: ['*'] });
  for (let i = 0; i < n; i++) a.addAgent(`a${i}`, res('cpus:4;mem:4096'));
  for (const o of a.allocate(0))
    a.recover(o.frameworkId, o.role, o.agentId, o.resources, { expiresAt: 1e12 });
  expect(a.allocate(1)).toEqual([]);
  return a;
}

describe('allocation runs that visit only the agents that changed', () => {
  it('visit no agent when nothing changed, and only the one whose resources changed', () => {
    const a = settled(50);
    a.allocate(2);
    expect(a.metrics()).toMatchObject({ lastRunAgentsVisited: 0, lastRunAgentsSkipped: 50 });
    // A new agent: only it is visited, and offered.
    a.addAgent('new', res('cpus:1;mem:512'));
    expect(who(a.allocate(3))).toEqual(['f@new']);
    expect(a.metrics()).toMatchObject({ lastRunAgentsVisited: 1 });
  });

  it('offer what a finished task frees on an agent nobody could take before', () => {
    const a = new HierarchicalAllocator({ seed: 3 });
    a.addFramework('f', { roles: ['*'] });
    for (let i = 0; i < 20; i++) a.addAgent(`a${i}`, res('cpus:1;mem:512'));
    const offers = a.allocate(0);
    expect(offers).toHaveLength(20);
    // f uses a7 whole and declines the rest for good.
    for (const o of offers) {
      if (o.agentId === 'a7') a.use('f', '*', 'a7', o.resources);
      else a.recover('f', '*', o.agentId, o.resources, { expiresAt: 1e12 });
    }
    expect(a.allocate(1)).toEqual([]);
    a.release('f', '*', 'a7', res('cpus:1;mem:512'));
    expect(who(a.allocate(2))).toEqual(['f@a7']);
  });

  it('go over every agent again when a filter expires, a framework comes or one is revived', () => {
    const a = new HierarchicalAllocator({ seed: 3 });
    a.addFramework('f', { roles: ['*'] });
    for (let i = 0; i < 10; i++) a.addAgent(`a${i}`, res('cpus:1;mem:512'));
    for (const o of a.allocate(0)) a.recover('f', '*', o.agentId, o.resources, { expiresAt: 500 });
    expect(a.allocate(100)).toEqual([]);
    expect(a.allocate(499)).toEqual([]);
    // The filters expire: every agent is offered again.
    const again = a.allocate(500);
    expect(again).toHaveLength(10);
    for (const o of again) a.recover('f', '*', o.agentId, o.resources, { expiresAt: 1e12 });
    expect(a.allocate(600)).toEqual([]);
    // A framework that may take them comes.
    a.addFramework('g', { roles: ['*'] });
    expect(who(a.allocate(700))).toHaveLength(10);
    expect(a.metrics()).toMatchObject({ lastRunAgentsVisited: 10 });
  });

  it('offer to a framework that revives, on agents it declined for good', () => {
    const a = new HierarchicalAllocator({ seed: 3 });
    a.addFramework('f', { roles: ['*'] });
    for (let i = 0; i < 10; i++) a.addAgent(`a${i}`, res('cpus:1;mem:512'));
    for (const o of a.allocate(0)) a.recover('f', '*', o.agentId, o.resources, { expiresAt: 1e12 });
    expect(a.allocate(1)).toEqual([]);
    a.revive('f');
    expect(a.allocate(2)).toHaveLength(10);
  });
});
