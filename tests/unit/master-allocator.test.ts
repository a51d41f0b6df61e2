import { describe, expect, it } from 'vitest';
import {
  type Allocation,
  dominantShare,
  HierarchicalAllocator,
  isAllocatable,
} from '../../actors/master/allocator/index.js';
import { resources as R } from '../../protocol/index.js';

const res = R.parseResources;
const pairs = (out: Allocation[]) => out.map((o) => [o.agentId, o.frameworkId]);

/** An allocator visiting agents in the order they were added, so runs read top to bottom. */
function allocator() {
  return new HierarchicalAllocator({ agentOrder: 'added' });
}

describe('the allocator, as the master first used it', () => {
  it('computes the dominant share as the largest fraction of any resource, gpus excluded', () => {
    // cpus 2/10 = .2, mem 512/1024 = .5 -> .5; gpus 1/1 ignored
    expect(dominantShare(res('cpus:2;mem:512;gpus:1'), { cpus: 10, mem: 1024, gpus: 1 })).toBe(0.5);
  });

  it('requires cpus 0.01 or mem 32 to make an offer', () => {
    expect(isAllocatable(res('cpus:0.01'))).toBe(true);
    expect(isAllocatable(res('mem:32'))).toBe(true);
    expect(isAllocatable(res('cpus:0.001;mem:31;disk:100'))).toBe(false);
  });

  it('offers each agent whole to the framework with the lowest dominant share, updating shares as it goes', () => {
    // cluster cpus 8, mem 4096: a holds cpus 4 + mem 2048 on a0 (.5), b holds nothing
    // a1 -> b (b: cpus 2/8 = .25, mem 1024/4096 = .25); then b .25 < a .5 -> a2 -> b too
    const a = allocator();
    a.addFramework('a', { roles: ['*'] });
    a.addFramework('b', { roles: ['*'] });
    a.addAgent('a1', res('cpus:2;mem:1024'));
    a.addAgent('a2', res('cpus:2;mem:1024'));
    a.addAgent('a0', res('cpus:4;mem:2048'), [
      { frameworkId: 'a', role: '*', resources: res('cpus:4;mem:2048') },
    ]);
    const out = a.allocate(0);
    expect(pairs(out)).toEqual([
      ['a1', 'b'],
      ['a2', 'b'],
    ]);
    expect(out[0].resources).toEqual(res('cpus:2;mem:1024'));
  });

  it('spreads agents across equal frameworks, breaking ties by id', () => {
    const a = allocator();
    a.addFramework('f2', { roles: ['*'] });
    a.addFramework('f1', { roles: ['*'] });
    a.addAgent('x', res('cpus:1;mem:128'));
    a.addAgent('y', res('cpus:1;mem:128'));
    expect(a.allocate(0).map((o) => o.frameworkId)).toEqual(['f1', 'f2']);
  });

  it('skips a framework whose refusal filter covers the offer but not a larger one', () => {
    const small = allocator();
    small.addFramework('f1', { roles: ['*'] });
    small.addAgent('x', res('cpus:1;mem:128'));
    small.addFilter({
      frameworkId: 'f1',
      role: '*',
      agentId: 'x',
      resources: res('cpus:1;mem:128'),
      expiresAt: 1e9,
    });
    expect(small.allocate(0)).toEqual([]);

    const large = allocator();
    large.addFramework('f1', { roles: ['*'] });
    large.addAgent('x', res('cpus:2;mem:128'));
    large.addFilter({
      frameworkId: 'f1',
      role: '*',
      agentId: 'x',
      resources: res('cpus:1;mem:128'),
      expiresAt: 1e9,
    });
    expect(large.allocate(0)).toHaveLength(1);
  });

  it('offers nothing to suppressed roles and reserved resources only to their role', () => {
    const unreserved = allocator();
    unreserved.addFramework('f1', { roles: ['*'] });
    unreserved.addAgent('x', res('cpus(ads):2;mem(ads):256'));
    expect(unreserved.allocate(0)).toEqual([]);

    const suppressed = allocator();
    suppressed.addFramework('f1', { roles: ['ads'], suppressedRoles: ['ads'] });
    suppressed.addAgent('x', res('cpus(ads):2;mem(ads):256'));
    expect(suppressed.allocate(0)).toEqual([]);

    const ads = allocator();
    ads.addFramework('f1', { roles: ['ads'] });
    ads.addAgent('x', res('cpus(ads):2;mem(ads):256'));
    expect(ads.allocate(0)).toEqual([
      { frameworkId: 'f1', role: 'ads', agentId: 'x', resources: res('cpus(ads):2;mem(ads):256') },
    ]);
  });

  it('offers GPU agents only to frameworks with the GPU_RESOURCES capability', () => {
    const plain = allocator();
    plain.addFramework('plain', { roles: ['*'] });
    plain.addAgent('g', res('cpus:4;mem:1024;gpus:1'));
    expect(plain.allocate(0)).toEqual([]);

    const both = allocator();
    both.addFramework('plain', { roles: ['*'] });
    both.addFramework('gpu', { roles: ['*'], capabilities: ['GPU_RESOURCES'] });
    both.addAgent('g', res('cpus:4;mem:1024;gpus:1'));
    expect(both.allocate(0)).toMatchObject([{ frameworkId: 'gpu', agentId: 'g' }]);
  });

  it('offers nothing from an agent with less than the minimum left', () => {
    // cpus 1 - 1 = 0, mem 128 - 100 = 28 < 32
    const a = allocator();
    a.addFramework('f', { roles: ['*'] });
    a.addAgent('x', res('cpus:1;mem:128'), [
      { frameworkId: 'f', role: '*', resources: res('cpus:1;mem:100') },
    ]);
    expect(a.allocate(0)).toEqual([]);
  });
});
