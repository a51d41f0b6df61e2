import { describe, expect, it } from 'vitest';
import { HierarchicalAllocator, WeightError } from '../../actors/master/allocator/index.js';
import { resources as R, type Resources } from '../../protocol/index.js';

const res = R.parseResources;

/**
 * A cluster of one small agent `x` and an agent `h` fully held: by the frameworks' `held`
 * resources, which set their shares, and the rest by a framework the master never added (so it
 * is never offered anything). The run offers `x` whole to the first in DRF order.
 */
interface Cluster {
  frameworks: Record<string, string[]>;
  held: Record<string, { role: string; resources: string }[]>;
  heldAgent: string;
  weights?: Record<string, number>;
}

function firstServed(opts: Cluster): { frameworkId: string; role: string } {
  const a = new HierarchicalAllocator({ agentOrder: 'added' });
  for (const [id, roles] of Object.entries(opts.frameworks)) a.addFramework(id, { roles });
  if (opts.weights) a.updateWeights(opts.weights);
  const held = Object.entries(opts.held).flatMap(([frameworkId, hs]) =>
    hs.map((h) => ({ frameworkId, role: h.role, resources: res(h.resources) })),
  );
  const rest = R.subtract(
    res(opts.heldAgent),
    held.flatMap((h) => h.resources),
  );
  a.addAgent('h', res(opts.heldAgent), [...held, { frameworkId: 'idle', role: 'zz', resources: rest }]);
  a.addAgent('x', res('cpus:0;mem:64'));
  const out = a.allocate(0);
  expect(out).toHaveLength(1);
  return { frameworkId: out[0].frameworkId, role: out[0].role };
}

describe('hierarchical DRF ordering', () => {
  it.each<Cluster & { name: string; expected: { frameworkId: string; role: string } }>([
    {
      name: 'the framework with the lowest dominant share',
      // cluster cpus 100, mem 1064: a = max(20/100, 100/1064) = .2, b = max(10/100, 500/1064) = .47
      frameworks: { a: ['*'], b: ['*'] },
      held: {
        a: [{ role: '*', resources: 'cpus:20;mem:100' }],
        b: [{ role: '*', resources: 'cpus:10;mem:500' }],
      },
      heldAgent: 'cpus:100;mem:1000',
      expected: { frameworkId: 'a', role: '*' },
    },
    {
      name: 'gpus do not count towards shares',
      // cpus 100, gpus 4: a = cpus 10/100 = .1 (gpus 4/4 ignored), b = 20/100 = .2
      frameworks: { a: ['*'], b: ['*'] },
      held: { a: [{ role: '*', resources: 'cpus:10;gpus:4' }], b: [{ role: '*', resources: 'cpus:20' }] },
      heldAgent: 'cpus:100;mem:1000;gpus:4',
      expected: { frameworkId: 'a', role: '*' },
    },
    {
      name: 'the role with the lowest weighted share: weight 2 halves a share',
      // cpus 100: role a holds 40 -> .4 / 2 = .2; role b holds 25 -> .25 / 1 = .25
      frameworks: { fa: ['a'], fb: ['b'] },
      held: { fa: [{ role: 'a', resources: 'cpus:40' }], fb: [{ role: 'b', resources: 'cpus:25' }] },
      heldAgent: 'cpus:100;mem:1000',
      weights: { a: 2 },
      expected: { frameworkId: 'fa', role: 'a' },
    },
    {
      name: 'without the weight the other role',
      // cpus 100: a .4, b .25
      frameworks: { fa: ['a'], fb: ['b'] },
      held: { fa: [{ role: 'a', resources: 'cpus:40' }], fb: [{ role: 'b', resources: 'cpus:25' }] },
      heldAgent: 'cpus:100;mem:1000',
      expected: { frameworkId: 'fb', role: 'b' },
    },
    {
      name: 'level by level: a subtree is judged by all of it before its children are',
      // cpus 100: eng = eng/backend 30 + eng/frontend 0 = .3; ads = .2 -> ads first, though
      // eng/frontend alone has 0
      frameworks: { back: ['eng/backend'], front: ['eng/frontend'], ads: ['ads'] },
      held: {
        back: [{ role: 'eng/backend', resources: 'cpus:30' }],
        ads: [{ role: 'ads', resources: 'cpus:20' }],
      },
      heldAgent: 'cpus:100;mem:1000',
      expected: { frameworkId: 'ads', role: 'ads' },
    },
    {
      name: 'then inside the subtree that goes first, its lowest child',
      // cpus 100: eng = 10 + 0 = .1 < ads .2 -> eng; inside eng: frontend 0 < backend .1
      frameworks: { back: ['eng/backend'], front: ['eng/frontend'], ads: ['ads'] },
      held: {
        back: [{ role: 'eng/backend', resources: 'cpus:10' }],
        ads: [{ role: 'ads', resources: 'cpus:20' }],
      },
      heldAgent: 'cpus:100;mem:1000',
      expected: { frameworkId: 'front', role: 'eng/frontend' },
    },
    {
      name: "a role's own frameworks compete with its child roles as one more child",
      // cpus 100: inside eng, eng itself holds 5 (.05) and eng/x holds 3 (.03) -> eng/x
      frameworks: { own: ['eng'], kid: ['eng/x'] },
      held: { own: [{ role: 'eng', resources: 'cpus:5' }], kid: [{ role: 'eng/x', resources: 'cpus:3' }] },
      heldAgent: 'cpus:100;mem:1000',
      expected: { frameworkId: 'kid', role: 'eng/x' },
    },
    {
      name: 'weights apply to nested roles inside their parent',
      // cpus 100: eng/a 6 / weight 3 = .02, eng/b 3 / 1 = .03 -> eng/a
      frameworks: { fa: ['eng/a'], fb: ['eng/b'] },
      held: { fa: [{ role: 'eng/a', resources: 'cpus:6' }], fb: [{ role: 'eng/b', resources: 'cpus:3' }] },
      heldAgent: 'cpus:100;mem:1000',
      weights: { 'eng/a': 3 },
      expected: { frameworkId: 'fa', role: 'eng/a' },
    },
    {
      name: 'frameworks inside a role by their share in that role only',
      // cpus 100, role r: m holds 30 in role other but 1 in r (.01); s holds 2 in r (.02) -> m
      frameworks: { m: ['r', 'other'], s: ['r'] },
      held: {
        m: [
          { role: 'other', resources: 'cpus:30' },
          { role: 'r', resources: 'cpus:1' },
        ],
        s: [{ role: 'r', resources: 'cpus:2' }],
      },
      heldAgent: 'cpus:100;mem:1000',
      // roles: other .3, r .03 -> r first; inside r: m .01 < s .02
      expected: { frameworkId: 'm', role: 'r' },
    },
  ])('serves $name first', ({ expected, ...opts }) => {
    expect(firstServed(opts)).toEqual(expected);
  });

  it('breaks equal shares by fewer allocations, then by name', () => {
    const a = new HierarchicalAllocator({ agentOrder: 'added' });
    a.addFramework('b', { roles: ['*'] });
    a.addFramework('a', { roles: ['*'] });
    a.addAgent('x', res('cpus:1;mem:128'));
    // shares a = b = 0, allocations 0 and 0 -> by name: a
    const [first] = a.allocate(0);
    expect(first.frameworkId).toBe('a');
    // a declines without a filter: shares back to 0, but a has had 1 allocation, b 0 -> b
    a.recover('a', '*', 'x', first.resources);
    expect(a.allocate(0).map((o) => o.frameworkId)).toEqual(['b']);
  });

  it('makes each offer for one role of a multi-role framework', () => {
    const a = new HierarchicalAllocator({ agentOrder: 'added' });
    a.addFramework('m', { roles: ['r1', 'r2'] });
    a.addAgent('x', res('cpus:1;mem:128'));
    a.addAgent('y', res('cpus:1;mem:128'));
    // x -> r1 (both roles 0, by name); r1 now 1/2 cpus = .5 > r2 0 -> y -> r2
    expect(a.allocate(0).map((o) => [o.agentId, o.role])).toEqual([
      ['x', 'r1'],
      ['y', 'r2'],
    ]);
    expect(a.frameworkShare('m', 'r1')).toBe(0.5);
    expect(a.roleShare('r2')).toBe(0.5);
  });

  it('reproduces the DRF paper: 9 cpus, 18 GB; A <1 cpu, 4 GB>, B <3 cpus, 1 GB> -> A 3 tasks, B 2', () => {
    // Ghodsi et al., NSDI 2011, section 4. Each framework takes one task per offer and returns the
    // rest without a filter; when its task no longer fits it refuses the offer for good.
    //   A 0 = B 0, fewer allocations tie, by name  -> A: A = max(1/9, 4/18) = .22
    //   B 0 < A .22                                 -> B: B = max(3/9, 1/18) = .33
    //   A .22 < B .33 -> A .44;  B .33 < A .44 -> B .67;  A .44 < B .67 -> A .67
    //   cpus 3 + 6 = 9 used; what is left (mem 4 GB) fits neither task.
    const task: Record<string, Resources> = { A: res('cpus:1;mem:4096'), B: res('cpus:3;mem:1024') };
    const tasks: Record<string, number> = { A: 0, B: 0 };
    const order: string[] = [];
    const a = new HierarchicalAllocator();
    a.addFramework('A', { roles: ['*'] });
    a.addFramework('B', { roles: ['*'] });
    a.addAgent('node', res('cpus:9;mem:18432'));
    for (let round = 0; round < 50; round++) {
      const out = a.allocate(round);
      if (out.length === 0) break;
      for (const o of out) {
        const fit = R.fitIn(o.resources, task[o.frameworkId]);
        if (!fit) {
          a.recover(o.frameworkId, o.role, o.agentId, o.resources, { expiresAt: Number.POSITIVE_INFINITY });
          continue;
        }
        a.use(o.frameworkId, o.role, o.agentId, fit);
        a.recover(o.frameworkId, o.role, o.agentId, R.subtract(o.resources, fit));
        tasks[o.frameworkId]++;
        order.push(o.frameworkId);
      }
    }
    expect(tasks).toEqual({ A: 3, B: 2 });
    expect(order).toEqual(['A', 'B', 'A', 'B', 'A']);
    // A: max(3/9, 12/18) = .67; B: max(6/9, 2/18) = .67
    expect(a.frameworkShare('A', '*')).toBeCloseTo(2 / 3);
    expect(a.frameworkShare('B', '*')).toBeCloseTo(2 / 3);
  });
});

describe('weights', () => {
  it.each([
    [{ eng: 0 }, 'must be a finite number above zero'],
    [{ eng: -1 }, 'must be a finite number above zero'],
    [{ eng: Number.NaN }, 'must be a finite number above zero'],
    [{ eng: Number.POSITIVE_INFINITY }, 'must be a finite number above zero'],
    [{ 'bad role': 2 }, 'is not a valid role name'],
  ])('rejects %o and changes nothing', (weights, message) => {
    const a = new HierarchicalAllocator();
    a.updateWeights({ ops: 3 });
    expect(() => a.updateWeights({ ops: 5, ...weights })).toThrow(WeightError);
    expect(() => a.updateWeights({ ops: 5, ...weights })).toThrow(message);
    expect(a.weights()).toEqual({ ops: 3 });
  });

  it('changes the order at run time', () => {
    // cpus 100: a holds 40 (.4), b 25 (.25) -> b; after weight a = 2: a .2 < b .25 -> a
    const a = new HierarchicalAllocator({ agentOrder: 'added' });
    a.addFramework('fa', { roles: ['a'] });
    a.addFramework('fb', { roles: ['b'] });
    a.addAgent('h', res('cpus:100;mem:1000'), [
      { frameworkId: 'fa', role: 'a', resources: res('cpus:40') },
      { frameworkId: 'fb', role: 'b', resources: res('cpus:25') },
      { frameworkId: 'idle', role: 'zz', resources: res('cpus:35;mem:1000') },
    ]);
    a.addAgent('x', res('mem:64'));
    const [before] = a.allocate(0);
    expect(before.frameworkId).toBe('fb');
    a.recover(before.frameworkId, before.role, before.agentId, before.resources);
    a.updateWeights({ a: 2 });
    expect(a.allocate(0).map((o) => o.frameworkId)).toEqual(['fa']);
    expect(a.roleShare('a')).toBeCloseTo(0.2);
  });
});
