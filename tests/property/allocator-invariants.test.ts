import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Allocation,
  HierarchicalAllocator,
  type Holding,
  ReservationError,
} from '../../actors/master/allocator/index.js';
import { resources as R, type Resources } from '../../protocol/index.js';

const ROLES = ['*', 'a', 'b', 'a/x', 'a/y', 'c'];
const TOP = ['a', 'b', 'c'];

const usableIn = (owner: string, role: string) =>
  owner === '*' || owner === role || role.startsWith(`${owner}/`);
const inSubtree = (role: string, top: string) => role === top || role.startsWith(`${top}/`);
const sum = (lists: readonly Resources[]) => R.normalize(lists.flat());

const agentArb = fc.record({
  cpus: fc.integer({ min: 0, max: 8 }),
  mem: fc.integer({ min: 0, max: 8 }),
  gpus: fc.constantFrom(0, 0, 0, 1, 2),
  reservedFor: fc.option(fc.constantFrom('a', 'b', 'a/x', 'c'), { nil: undefined }),
  reservedCpus: fc.integer({ min: 0, max: 4 }),
  reservedMem: fc.integer({ min: 0, max: 4 }),
  ports: fc.boolean(),
});
type AgentSpec = typeof agentArb extends fc.Arbitrary<infer T> ? T : never;

const agentText = (s: AgentSpec) =>
  [
    `cpus:${s.cpus}`,
    `mem:${s.mem * 512}`,
    s.gpus ? `gpus:${s.gpus}` : '',
    s.reservedFor
      ? `cpus(${s.reservedFor}):${s.reservedCpus};mem(${s.reservedFor}):${s.reservedMem * 256}`
      : '',
    s.ports ? 'ports:[31000-31009]' : '',
  ]
    .filter(Boolean)
    .join(';');

const frameworkArb = fc.record({
  roles: fc.uniqueArray(fc.constantFrom(...ROLES), { minLength: 1, maxLength: 2 }),
  gpu: fc.boolean(),
});

const quotaArb = fc.record({
  role: fc.constantFrom(...TOP),
  limitCpus: fc.integer({ min: 0, max: 12 }),
  guaranteeCpus: fc.integer({ min: 0, max: 12 }),
  limitMem: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
});

const opArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('allocate' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('decline' as const),
      pick: fc.nat(),
      filterMs: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('launch' as const),
      pick: fc.nat(),
      cpus: fc.integer({ min: 1, max: 6 }),
      mem: fc.integer({ min: 0, max: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('suppress' as const, 'revive' as const),
      fw: fc.nat(),
      role: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom('deactivate' as const, 'activate' as const), fw: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('reserve' as const, 'unreserve' as const),
      agent: fc.nat(),
      role: fc.constantFrom('a', 'b', 'a/x', 'c'),
    }),
  },
);

describe('allocator invariants over random clusters and event sequences', () => {
  it('never double-offers, never overcommits, keeps reservations, limits and suppression', () => {
    fc.assert(
      fc.property(
        fc.array(agentArb, { minLength: 1, maxLength: 5 }),
        fc.array(frameworkArb, { minLength: 1, maxLength: 4 }),
        fc.array(quotaArb, { maxLength: 2 }),
        fc.dictionary(fc.constantFrom(...ROLES.slice(1)), fc.integer({ min: 1, max: 4 }), { maxKeys: 3 }),
        fc.array(opArb, { minLength: 5, maxLength: 60, size: 'large' }),
        fc.integer(),
        (agentSpecs, fwSpecs, quotas, weights, ops, seed) => {
          const a = new HierarchicalAllocator({ seed });
          const limits = new Map<string, Record<string, number>>();
          for (const q of quotas) {
            const limit = [
              { name: 'cpus', scalar: q.limitCpus },
              ...(q.limitMem === undefined ? [] : [{ name: 'mem', scalar: q.limitMem * 512 }]),
            ];
            a.updateQuota(q.role, {
              guarantee: [{ name: 'cpus', scalar: Math.min(q.guaranteeCpus, q.limitCpus) }],
              limit,
            });
            limits.set(q.role, Object.fromEntries(limit.map((r) => [r.name, r.scalar])));
          }
          a.updateWeights(weights);
          const agentIds = agentSpecs.map((s, i) => {
            a.addAgent(`ag${i}`, R.parseResources(agentText(s)));
            return `ag${i}`;
          });
          const fws = fwSpecs.map((s, i) => ({
            id: `fw${i}`,
            ...s,
            suppressed: new Set<string>(),
            active: true,
          }));
          for (const f of fws)
            a.addFramework(f.id, { roles: f.roles, capabilities: f.gpu ? ['GPU_RESOURCES'] : [] });

          let now = 0;
          let offers: Allocation[] = [];
          let tasks: (Holding & { agentId: string })[] = [];
          const view = (id: string) =>
            a.agentAllocations(id) as NonNullable<ReturnType<typeof a.agentAllocations>>;

          const checkAgents = () => {
            for (const id of agentIds) {
              const v = view(id);
              const held = sum([...v.offered, ...v.used].map((h) => h.resources));
              // offered + used never exceeds the agent's total
              expect(R.contains(v.total, held)).toBe(true);
              // the allocator's offered resources are exactly the offers outstanding here
              const mine = sum(offers.filter((o) => o.agentId === id).map((o) => o.resources));
              expect(R.equals(sum(v.offered.map((h) => h.resources)), mine)).toBe(true);
            }
          };

          const checkLimits = () => {
            for (const [top, limit] of limits) {
              const held = sum(
                agentIds.flatMap((id) => {
                  const v = view(id);
                  return [...v.offered, ...v.used]
                    .filter((h) => inSubtree(h.role, top))
                    .map((h) => h.resources);
                }),
              );
              for (const [name, max] of Object.entries(limit))
                expect(R.scalar(held, name)).toBeLessThanOrEqual(max);
            }
          };

          for (const op of ops) {
            switch (op.kind) {
              case 'allocate': {
                const before = new Map(agentIds.map((id) => [id, view(id).available]));
                const out = a.allocate(now);
                for (const o of out) {
                  const f = fws.find((x) => x.id === o.frameworkId);
                  expect(f).toBeDefined();
                  if (!f) continue;
                  // only to an active framework, in a role it subscribes to and has not suppressed
                  expect(f.active).toBe(true);
                  expect(f.roles).toContain(o.role);
                  expect(f.suppressed.has(o.role)).toBe(false);
                  // reserved resources only to their role or its descendants
                  for (const r of o.resources) if (r.role) expect(usableIn(r.role, o.role)).toBe(true);
                  // GPU agents only to GPU frameworks
                  if (R.scalar(view(o.agentId).total, 'gpus') > 0) expect(f.gpu).toBe(true);
                }
                // nothing offered twice: what one run offers on an agent was all available before it
                for (const id of agentIds) {
                  const given = sum(out.filter((o) => o.agentId === id).map((o) => o.resources));
                  expect(R.contains(before.get(id) as Resources, given)).toBe(true);
                }
                offers.push(...out);
                checkLimits();
                break;
              }
              case 'decline': {
                if (!offers.length) break;
                const o = offers[op.pick % offers.length];
                offers = offers.filter((x) => x !== o);
                a.recover(
                  o.frameworkId,
                  o.role,
                  o.agentId,
                  o.resources,
                  op.filterMs ? { expiresAt: now + op.filterMs } : undefined,
                );
                break;
              }
              case 'launch': {
                if (!offers.length) break;
                const o = offers[op.pick % offers.length];
                offers = offers.filter((x) => x !== o);
                const want = R.parseResources(`cpus:${op.cpus / 2};mem:${op.mem * 128}`);
                const fit = R.fitIn(o.resources, want);
                if (fit) {
                  a.use(o.frameworkId, o.role, o.agentId, fit);
                  tasks.push({
                    frameworkId: o.frameworkId,
                    role: o.role,
                    agentId: o.agentId,
                    resources: fit,
                  });
                }
                a.recover(o.frameworkId, o.role, o.agentId, fit ? R.subtract(o.resources, fit) : o.resources);
                break;
              }
              case 'finish': {
                if (!tasks.length) break;
                const t = tasks[op.pick % tasks.length];
                tasks = tasks.filter((x) => x !== t);
                a.release(t.frameworkId, t.role, t.agentId, t.resources);
                break;
              }
              case 'suppress':
              case 'revive': {
                const f = fws[op.fw % fws.length];
                const role = f.roles[op.role % f.roles.length];
                if (op.kind === 'suppress') {
                  a.suppress(f.id, [role]);
                  f.suppressed.add(role);
                } else {
                  a.revive(f.id, [role]);
                  f.suppressed.delete(role);
                }
                break;
              }
              case 'deactivate':
              case 'activate': {
                const f = fws[op.fw % fws.length];
                f.active = op.kind === 'activate';
                if (f.active) a.activateFramework(f.id);
                else {
                  // the master rescinds a disconnected framework's offers
                  for (const o of offers.filter((x) => x.frameworkId === f.id))
                    a.recover(o.frameworkId, o.role, o.agentId, o.resources);
                  offers = offers.filter((x) => x.frameworkId !== f.id);
                  a.deactivateFramework(f.id);
                }
                break;
              }
              case 'tick':
                now += op.ms;
                break;
              case 'reserve':
              case 'unreserve': {
                const id = agentIds[op.agent % agentIds.length];
                const resources =
                  op.kind === 'reserve'
                    ? R.parseResources(`cpus(${op.role}):1`)
                    : R.parseResources(`cpus(${op.role}):1`);
                try {
                  a.updateReservation(id, {
                    type: op.kind === 'reserve' ? 'RESERVE' : 'UNRESERVE',
                    resources,
                  });
                } catch (err) {
                  expect(err).toBeInstanceOf(ReservationError);
                }
                break;
              }
            }
            checkAgents();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('DRF order over random shares and weights', () => {
  const heldArb = fc.array(
    fc.record({
      fw: fc.nat(),
      role: fc.constantFrom(...ROLES.slice(1)),
      cpus: fc.integer({ min: 0, max: 20 }),
      mem: fc.integer({ min: 0, max: 20 }),
    }),
    { maxLength: 8 },
  );

  it('serves first the framework with the lowest weighted dominant share, level by level', () => {
    fc.assert(
      fc.property(
        fc.array(frameworkArb, { minLength: 1, maxLength: 5 }),
        heldArb,
        fc.dictionary(fc.constantFrom(...ROLES.slice(1)), fc.integer({ min: 1, max: 5 }), { maxKeys: 4 }),
        (fwSpecs, heldSpecs, weights) => {
          const a = new HierarchicalAllocator({ agentOrder: 'added' });
          a.updateWeights(weights);
          const fws = fwSpecs.map((s, i) => ({ id: `fw${i}`, roles: s.roles }));
          for (const f of fws) a.addFramework(f.id, { roles: f.roles });
          // held resources, in thousandths, by framework and role (only in roles they subscribe to)
          const held = heldSpecs
            .map((h) => {
              const f = fws[h.fw % fws.length];
              return {
                frameworkId: f.id,
                role: f.roles[h.fw % f.roles.length],
                cpus: h.cpus * 500,
                mem: h.mem * 100_000,
              };
            })
            .filter((h) => h.cpus + h.mem > 0);
          const heldCpus = held.reduce((n, h) => n + h.cpus, 0);
          const heldMem = held.reduce((n, h) => n + h.mem, 0);
          // one agent fully held (the rest by a framework never added), one fresh agent to offer
          a.addAgent('fresh', R.parseResources('cpus:1;mem:1024'));
          const bigCpus = heldCpus + 10_000;
          const bigMem = heldMem + 4_096_000;
          a.addAgent('big', R.parseResources(`cpus:${bigCpus / 1000};mem:${bigMem / 1000}`), [
            ...held.map((h) => ({
              frameworkId: h.frameworkId,
              role: h.role,
              resources: R.parseResources(`cpus:${h.cpus / 1000};mem:${h.mem / 1000}`),
            })),
            {
              frameworkId: 'idle',
              role: 'zz',
              resources: R.parseResources(
                `cpus:${(bigCpus - heldCpus) / 1000};mem:${(bigMem - heldMem) / 1000}`,
              ),
            },
          ]);
          const out = a.allocate(0);
          expect(out.length).toBeGreaterThan(0);

          // the reference: walk the role tree choosing the lowest (share / weight, name) at each level
          const totalCpus = bigCpus + 1000;
          const totalMem = bigMem + 1_024_000;
          const share = (pred: (h: (typeof held)[number]) => boolean) => {
            const c = held.filter(pred).reduce((n, h) => n + h.cpus, 0);
            const m = held.filter(pred).reduce((n, h) => n + h.mem, 0);
            return Math.max(c / totalCpus, m / totalMem);
          };
          const weight = (role: string) => weights[role] ?? 1;
          const candidates = fws.flatMap((f) => f.roles.map((role) => ({ fw: f.id, role })));
          const pick = (parent: string): { fw: string; role: string } => {
            type Kid = { name: string; share: number; own: boolean };
            const kids = new Map<string, Kid>();
            for (const c of candidates) {
              const inside = parent === '' ? true : c.role.startsWith(`${parent}/`);
              if (!inside && c.role !== parent) continue;
              if (c.role === parent) {
                kids.set(`\u0000self`, {
                  name: parent,
                  own: true,
                  share: share((h) => h.role === parent) / weight(parent),
                });
                continue;
              }
              const rest = parent === '' ? c.role : c.role.slice(parent.length + 1);
              const child = parent === '' ? rest.split('/')[0] : `${parent}/${rest.split('/')[0]}`;
              kids.set(child, {
                name: child,
                own: false,
                share: share((h) => inSubtree(h.role, child)) / weight(child),
              });
            }
            const best = [...kids.values()].sort(
              (x, y) => x.share - y.share || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0),
            )[0];
            if (!best.own) return pick(best.name);
            const inRole = candidates
              .filter((c) => c.role === best.name)
              .map((c) => ({ ...c, share: share((h) => h.role === c.role && h.frameworkId === c.fw) }))
              .sort((x, y) => x.share - y.share || (x.fw < y.fw ? -1 : 1));
            return { fw: inRole[0].fw, role: inRole[0].role };
          };
          expect({ fw: out[0].frameworkId, role: out[0].role }).toEqual(pick(''));
          expect(out[0].agentId).toBe('fresh');
        },
      ),
      { numRuns: 200 },
    );
  });
});
