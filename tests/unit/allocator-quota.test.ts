import { describe, expect, it } from 'vitest';
import { type Allocation, HierarchicalAllocator, QuotaError } from '../../actors/master/allocator/index.js';
import { resources as R } from '../../protocol/index.js';

const res = R.parseResources;
const fmt = (out: Allocation[]) => out.map((o) => [o.agentId, o.frameworkId, R.formatResources(o.resources)]);
const cpusOf = (out: Allocation[], fw: string) =>
  R.roundScalar(
    out.filter((o) => o.frameworkId === fw).reduce((n, o) => n + R.scalar(o.resources, 'cpus'), 0),
  );

function cluster(agents = 3) {
  const a = new HierarchicalAllocator({ agentOrder: 'added' });
  for (let i = 1; i <= agents; i++) a.addAgent(`a${i}`, res('cpus:4;mem:1024'));
  return a;
}

describe('quota guarantees', () => {
  it('serves a role with an unmet guarantee before fair sharing, cut to what is unmet', () => {
    // cluster cpus 12. prod guarantees cpus 6. Without quota dev (by name) would go first.
    //   guarantee stage: a1 -> P cpus 4 (+ all mem, not guaranteed): unmet 6 - 4 = 2
    //                    a2 -> P cpus 2 (cut), mem 1024: unmet 0
    //   fair stage:      a2's cpus 2 -> D (dev 0 < prod .5); a3 -> D (dev 2/12 = .17 < prod .5)
    const a = cluster();
    a.updateQuota('prod', { guarantee: res('cpus:6') });
    a.addFramework('P', { roles: ['prod'] });
    a.addFramework('D', { roles: ['dev'] });
    expect(fmt(a.allocate(0))).toEqual([
      ['a1', 'P', 'cpus:4;mem:1024'],
      ['a2', 'P', 'cpus:2;mem:1024'],
      ['a2', 'D', 'cpus:2'],
      ['a3', 'D', 'cpus:4;mem:1024'],
    ]);
  });

  it('holds back headroom for an unmet guarantee from other roles', () => {
    // cluster cpus 12; prod guarantees cpus 8 and has no framework to take it yet.
    // dev may take unreserved cpus only down to 8 left: 12 - 8 = 4.
    const a = cluster();
    a.updateQuota('prod', { guarantee: res('cpus:8') });
    a.addFramework('D', { roles: ['dev'] });
    const out = a.allocate(0);
    expect(cpusOf(out, 'D')).toBe(4);
    expect(fmt(out)[0]).toEqual(['a1', 'D', 'cpus:4;mem:1024']);
    // and a framework that then comes for prod gets the 8 held back
    a.addFramework('P', { roles: ['prod'] });
    expect(cpusOf(a.allocate(1), 'P')).toBe(8);
  });

  it('counts a role’s reservations towards its guarantee', () => {
    // prod guarantees cpus 8 and has cpus(prod):8 reserved on a4: consumed 8, unmet 0, no headroom
    // is held, so dev can take all 12 unreserved cpus
    const a = cluster();
    a.addAgent('a4', res('cpus(prod):8;mem(prod):1024'));
    a.updateQuota('prod', { guarantee: res('cpus:8') });
    a.addFramework('D', { roles: ['dev'] });
    expect(cpusOf(a.allocate(0), 'D')).toBe(12);
  });

  it('keeps headroom as allocations of the guaranteed role come and go', () => {
    // prod guarantees cpus 4 and uses 4 on a1: unmet 0 -> dev takes a2 and a3 (8 cpus). When prod's
    // task ends its 4 are unmet again: of 12 unallocated cpus, 4 are held back and dev gets 8
    const a = cluster();
    a.updateQuota('prod', { guarantee: res('cpus:4') });
    a.addFramework('P', { roles: ['prod'], suppressedRoles: ['prod'] });
    a.addFramework('D', { roles: ['dev'] });
    a.removeAgent('a1');
    a.addAgent('a1', res('cpus:4;mem:1024'), [
      { frameworkId: 'P', role: 'prod', resources: res('cpus:4;mem:1024') },
    ]);
    const out = a.allocate(0);
    expect(cpusOf(out, 'D')).toBe(8);
    for (const o of out) a.recover(o.frameworkId, o.role, o.agentId, o.resources);
    a.release('P', 'prod', 'a1', res('cpus:4;mem:1024'));
    // cpus 12 unallocated, prod unmet 4 -> dev may take 8
    expect(cpusOf(a.allocate(1), 'D')).toBe(8);
  });
});

describe('quota limits', () => {
  it('caps what a role’s whole subtree is offered, cutting offers', () => {
    // eng limits cpus to 5 across eng/a and eng/b: a1 -> eng/a cpus 4; a2 -> eng/b cpus 1 (cut);
    // a3 -> mem only (cpus 0 left under the limit)
    const a = cluster();
    a.updateQuota('eng', { limit: res('cpus:5') });
    a.addFramework('A', { roles: ['eng/a'] });
    a.addFramework('B', { roles: ['eng/b'] });
    expect(fmt(a.allocate(0))).toEqual([
      ['a1', 'A', 'cpus:4;mem:1024'],
      ['a2', 'B', 'cpus:1;mem:1024'],
      ['a3', 'A', 'mem:1024'],
    ]);
  });

  it('counts what the role already uses against its limit', () => {
    // eng uses cpus 4 on a1, limit 5 -> 1 more cpu is offered
    const a = cluster(1);
    a.addAgent('a2', res('cpus:8;mem:1024'), [{ frameworkId: 'A', role: 'eng', resources: res('cpus:4') }]);
    a.addFramework('A', { roles: ['eng'] });
    // (a zero amount is dropped by the resource parser, so it is spelled out)
    a.updateQuota('eng', { limit: [...res('cpus:5'), { name: 'mem', scalar: 0 }] });
    const out = a.allocate(0);
    expect(cpusOf(out, 'A')).toBe(1);
    expect(out.every((o) => R.scalar(o.resources, 'mem') === 0)).toBe(true);
  });

  it('lets the role have more again once its allocation drops', () => {
    const a = cluster(2);
    a.updateQuota('eng', { limit: res('cpus:4') });
    a.addFramework('A', { roles: ['eng'] });
    const first = a.allocate(0);
    expect(cpusOf(first, 'A')).toBe(4);
    expect(cpusOf(a.allocate(1), 'A')).toBe(0);
    const withCpus = first.find((o) => R.scalar(o.resources, 'cpus') > 0) as Allocation;
    a.recover('A', 'eng', withCpus.agentId, withCpus.resources);
    expect(cpusOf(a.allocate(2), 'A')).toBe(4);
  });
});

describe('quota validation', () => {
  it.each([
    ['eng/backend', { limit: res('cpus:4') }, 'top-level roles'],
    ['*', { limit: res('cpus:4') }, 'default role'],
    ['bad role', { limit: res('cpus:4') }, 'not a valid role name'],
    ['eng', { limit: res('ports:[1-10]') }, 'scalar resources only'],
    ['eng', { guarantee: res('cpus(eng):2') }, 'unreserved quantities'],
    ['eng', { guarantee: [{ name: 'cpus', scalar: -1 }] }, 'non-negative'],
    ['eng', { guarantee: [{ name: 'cpus', scalar: Number.NaN }] }, 'non-negative'],
    ['eng', { guarantee: res('cpus:4'), limit: res('cpus:2') }, 'above its limit'],
    ['eng', { limit: [{ name: 'ports', scalar: 5 }] }, 'scalar resources only'],
  ])('rejects quota on %s %o and changes nothing', (role, quota, message) => {
    const a = new HierarchicalAllocator();
    a.addAgent('x', res('cpus:4;mem:1024;ports:[1-100]'));
    a.updateQuota('eng', { guarantee: res('cpus:1'), limit: res('cpus:3') });
    const before = a.quotas();
    expect(() => a.updateQuota(role, quota)).toThrow(QuotaError);
    expect(() => a.updateQuota(role, quota)).toThrow(message);
    expect(a.quotas()).toEqual(before);
  });

  it('accepts a guarantee equal to its limit and removes a quota set to nothing', () => {
    const a = new HierarchicalAllocator();
    a.updateQuota('eng', { guarantee: res('cpus:2;mem:512'), limit: res('cpus:2') });
    expect(a.quotas()).toEqual({ eng: { guarantee: res('cpus:2;mem:512'), limit: res('cpus:2') } });
    a.updateQuota('eng', { limit: [{ name: 'mem', scalar: 0 }] });
    expect(a.quotas()).toEqual({ eng: { guarantee: [], limit: [{ name: 'mem', scalar: 0 }] } });
    a.updateQuota('eng', undefined);
    expect(a.quotas()).toEqual({});
  });
});
