import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as B from '../../actors/master/allocator/bundle.js';
import { SlotRegistry } from '../../actors/master/allocator/slots.js';
import { resources as R, type Range, type Resource } from '../../protocol/index.js';

const roleArb = fc.constantFrom(undefined, 'a', 'a/x', 'b');
const scalarArb = fc.record({
  name: fc.constantFrom('cpus', 'mem', 'disk'),
  scalar: fc.integer({ min: 0, max: 4000 }).map((x) => x / 1000),
  role: roleArb,
});
const rangeArb: fc.Arbitrary<Range> = fc
  .tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 8 }))
  .map(([b, n]) => [b, b + n]);
const rangedArb = fc.record({
  name: fc.constant('ports'),
  ranges: fc.array(rangeArb, { minLength: 1, maxLength: 4 }),
  role: roleArb,
});
const listArb = fc
  .array(fc.oneof(scalarArb, rangedArb), { maxLength: 6 })
  .map((rs) => rs.map(({ role, ...r }) => (role ? { ...r, role } : r)) as Resource[]);

/** The compact arithmetic the allocation loop uses must agree with the protocol's, always. */
describe('allocator bundles agree with protocol resource arithmetic', () => {
  it('on add, subtract, contains, usableBy and the round trip', () => {
    fc.assert(
      fc.property(listArb, listArb, (x, y) => {
        const reg = new SlotRegistry();
        const bx = B.bundleOf(reg, x);
        const by = B.bundleOf(reg, y);
        expect([...B.toResources(bx)]).toEqual(R.normalize(x));
        expect([...B.toResources(B.add(bx, by))]).toEqual(R.add(x, y));
        expect([...B.toResources(B.subtract(bx, by))]).toEqual(R.subtract(x, y));
        expect(B.contains(bx, by)).toBe(R.contains(x, y));
        expect(R.contains(x, B.toResources(B.intersect(bx, by)))).toBe(true);
        expect(R.contains(y, B.toResources(B.intersect(bx, by)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps for a role exactly what the protocol says it may use', () => {
    fc.assert(
      fc.property(listArb, fc.constantFrom('a', 'a/x', 'b', 'c', '*'), (x, role) => {
        const reg = new SlotRegistry();
        expect([...B.toResources(B.usableBy(B.bundleOf(reg, x), role))]).toEqual(R.usableBy(x, role));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps each bundle as built while later ones reuse the builder, also from inside chop', () => {
    fc.assert(
      fc.property(listArb, listArb, (x, y) => {
        const reg = new SlotRegistry();
        const bx = B.bundleOf(reg, x);
        const by = B.bundleOf(reg, y);
        const sum = B.add(bx, by);
        const diff = B.subtract(bx, by);
        // A take that builds bundles of its own while chop's builder is in use.
        let inner: B.Bundle = B.EMPTY;
        let calls = 0;
        const halved = B.chop(sum, (_s, amount) => {
          inner = B.add(inner, by);
          calls++;
          return Math.floor(amount / 2);
        });
        B.add(B.subtract(sum, bx), B.intersect(by, bx));
        expect([...B.toResources(sum)]).toEqual(R.add(x, y));
        expect([...B.toResources(diff)]).toEqual(R.subtract(x, y));
        expect(B.contains(sum, halved)).toBe(true);
        let expected: Resource[] = [];
        for (let i = 0; i < calls; i++) expected = R.add(expected, y);
        expect([...B.toResources(inner)]).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
