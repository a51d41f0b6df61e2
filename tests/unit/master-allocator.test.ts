import { describe, expect, it } from 'vitest';
import { allocate, dominantShare, isAllocatable, type AllocatorFramework } from '../../actors/master/allocator/index.js';
import { resources as R } from '../../protocol/index.js';

const agent = (id: string, text: string, usedText = '') => ({
  id,
  total: R.parseResources(text),
  available: R.subtract(R.parseResources(text), R.parseResources(usedText)),
});
const fw = (id: string, allocated = '', extra: Partial<AllocatorFramework> = {}): AllocatorFramework => ({
  id,
  roles: ['*'],
  suppressedRoles: new Set(),
  capabilities: [],
  allocated: R.parseResources(allocated),
  ...extra,
});

describe('the first allocator', () => {
  it('computes the dominant share as the largest fraction of any resource, gpus excluded', () => {
    // cpus 2/10 = .2, mem 512/1024 = .5 -> .5; gpus 1/1 ignored
    expect(dominantShare(R.parseResources('cpus:2;mem:512;gpus:1'), { cpus: 10, mem: 1024, gpus: 1 })).toBe(0.5);
  });

  it('requires cpus 0.01 or mem 32 to make an offer', () => {
    expect(isAllocatable(R.parseResources('cpus:0.01'))).toBe(true);
    expect(isAllocatable(R.parseResources('mem:32'))).toBe(true);
    expect(isAllocatable(R.parseResources('cpus:0.001;mem:31;disk:100'))).toBe(false);
  });

  it('offers each agent whole to the framework with the lowest dominant share, updating shares as it goes', () => {
    // cluster cpus 8: a holds 4 (.5), b holds 0 -> b gets a1; then b has 2/8 = .25 < .5 -> b gets a2 too
    const out = allocate({
      agents: [agent('a1', 'cpus:2;mem:1024'), agent('a2', 'cpus:2;mem:1024'), agent('a0', 'cpus:4;mem:2048', 'cpus:4;mem:2048')],
      frameworks: [fw('a', 'cpus:4;mem:2048'), fw('b')],
      filters: [],
    });
    expect(out.map((o) => [o.agentId, o.frameworkId])).toEqual([
      ['a1', 'b'],
      ['a2', 'b'],
    ]);
    expect(out[0].resources).toEqual(R.parseResources('cpus:2;mem:1024'));
  });

  it('spreads agents across equal frameworks, breaking ties by id', () => {
    const out = allocate({
      agents: [agent('x', 'cpus:1;mem:128'), agent('y', 'cpus:1;mem:128')],
      frameworks: [fw('f2'), fw('f1')],
      filters: [],
    });
    expect(out.map((o) => o.frameworkId)).toEqual(['f1', 'f2']);
  });

  it('skips a framework whose refusal filter covers the offer but not a larger one', () => {
    const filters = [{ frameworkId: 'f1', role: '*', agentId: 'x', resources: R.parseResources('cpus:1;mem:128') }];
    expect(allocate({ agents: [agent('x', 'cpus:1;mem:128')], frameworks: [fw('f1')], filters })).toEqual([]);
    expect(allocate({ agents: [agent('x', 'cpus:2;mem:128')], frameworks: [fw('f1')], filters })).toHaveLength(1);
  });

  it('offers nothing to suppressed roles and reserved resources only to their role', () => {
    const agents = [agent('x', 'cpus(ads):2;mem(ads):256')];
    expect(allocate({ agents, frameworks: [fw('f1')], filters: [] })).toEqual([]);
    expect(allocate({ agents, frameworks: [fw('f1', '', { roles: ['ads'], suppressedRoles: new Set(['ads']) })], filters: [] })).toEqual([]);
    const out = allocate({ agents, frameworks: [fw('f1', '', { roles: ['ads'] })], filters: [] });
    expect(out).toEqual([{ frameworkId: 'f1', role: 'ads', agentId: 'x', resources: R.parseResources('cpus(ads):2;mem(ads):256') }]);
  });

  it('offers GPU agents only to frameworks with the GPU_RESOURCES capability', () => {
    const agents = [agent('g', 'cpus:4;mem:1024;gpus:1')];
    expect(allocate({ agents, frameworks: [fw('plain')], filters: [] })).toEqual([]);
    expect(allocate({ agents, frameworks: [fw('plain'), fw('gpu', '', { capabilities: ['GPU_RESOURCES'] })], filters: [] }))
      .toMatchObject([{ frameworkId: 'gpu', agentId: 'g' }]);
  });

  it('offers nothing from an agent with less than the minimum left', () => {
    expect(allocate({ agents: [agent('x', 'cpus:1;mem:128', 'cpus:1;mem:100')], frameworks: [fw('f')], filters: [] })).toEqual([]);
  });
});
