import { describe, expect, it } from 'vitest';
import { resources as R, ResourceParseError } from '../../protocol/index.js';

describe('resource parsing', () => {
  it('reads the Mesos flag syntax with scalars, ranges and roles', () => {
    expect(R.parseResources('cpus:4;mem:8192;ports:[31000-32000];cpus(ads):2')).toEqual([
      { name: 'cpus', scalar: 4 },
      { name: 'cpus', scalar: 2, role: 'ads' },
      { name: 'mem', scalar: 8192 },
      { name: 'ports', ranges: [[31000, 32000]] },
    ]);
  });

  it('merges repeated entries and several range intervals', () => {
    expect(R.parseResources('cpus:1;cpus:0.5;ports:[10-20,21-30,50-60]')).toEqual([
      { name: 'cpus', scalar: 1.5 },
      {
        name: 'ports',
        ranges: [
          [10, 30],
          [50, 60],
        ],
      },
    ]);
  });

  it.each([
    ['cpus', 'is not NAME:VALUE'],
    ['cpus:-1', 'non-negative number'],
    ['cpus:abc', 'non-negative number'],
    ['ports:[5-1]', 'ends before it begins'],
    ['ports:[1-2', 'unclosed'],
    ['cpus(a b):1', 'invalid role'],
  ])('rejects %s with a message naming the item', (text, message) => {
    expect(() => R.parseResources(text)).toThrow(ResourceParseError);
    expect(() => R.parseResources(text)).toThrow(message);
  });

  it('formats back what it parsed', () => {
    const text = 'cpus:4;cpus(ads):2;mem:8192;ports:[31000-32000]';
    expect(R.formatResources(R.parseResources(text))).toBe(text);
  });

  it('reads attributes', () => {
    expect(R.parseAttributes('rack:a;zone:west')).toEqual({ rack: 'a', zone: 'west' });
    expect(() => R.parseAttributes('rack')).toThrow('NAME:VALUE');
  });
});

describe('resource arithmetic', () => {
  const a = R.parseResources('cpus:4;mem:1024;ports:[31000-31009]');

  it('keeps scalars in fixed point so 0.1 + 0.2 is 0.3', () => {
    expect(R.scalar(R.add([{ name: 'cpus', scalar: 0.1 }], [{ name: 'cpus', scalar: 0.2 }]), 'cpus')).toBe(
      0.3,
    );
  });

  it('subtracts scalars and punches holes in ranges', () => {
    expect(R.subtract(a, R.parseResources('cpus:1.5;mem:1024;ports:[31003-31004]'))).toEqual([
      { name: 'cpus', scalar: 2.5 },
      {
        name: 'ports',
        ranges: [
          [31000, 31002],
          [31005, 31009],
        ],
      },
    ]);
  });

  it('checks containment per name and role', () => {
    expect(R.contains(a, R.parseResources('cpus:4;ports:[31005-31009]'))).toBe(true);
    expect(R.contains(a, R.parseResources('cpus:4.001'))).toBe(false);
    expect(R.contains(a, R.parseResources('ports:[31009-31010]'))).toBe(false);
    expect(R.contains(a, R.parseResources('cpus(ads):1'))).toBe(false);
  });

  it('offers a role its own reservations and unreserved resources, and ancestors reservations to descendants', () => {
    const rs = R.parseResources('cpus:1;cpus(eng):2;cpus(ads):4');
    expect(R.scalar(R.usableBy(rs, 'eng'), 'cpus')).toBe(3);
    expect(R.scalar(R.usableBy(rs, 'eng/backend'), 'cpus')).toBe(3);
    expect(R.scalar(R.usableBy(rs, '*'), 'cpus')).toBe(1);
  });

  it('fits a request into an offer using reserved resources first', () => {
    const offer = R.parseResources('cpus:1;cpus(eng):0.5;mem:100;ports:[31000-31010]');
    expect(R.fitIn(offer, R.parseResources('cpus:1;mem:50;ports:[31005-31006]'))).toEqual([
      { name: 'cpus', scalar: 0.5 },
      { name: 'cpus', scalar: 0.5, role: 'eng' },
      { name: 'mem', scalar: 50 },
      { name: 'ports', ranges: [[31005, 31006]] },
    ]);
    expect(R.fitIn(offer, R.parseResources('cpus:1.6'))).toBeUndefined();
    expect(R.fitIn(offer, R.parseResources('ports:[80-80]'))).toBeUndefined();
  });
});

describe('resource equality', () => {
  const p = R.parseResources;
  it.each([
    [
      'the same list, entry by entry',
      p('cpus:4;mem:64;ports:[80-90]'),
      p('cpus:4;mem:64;ports:[80-90]'),
      true,
    ],
    ['the same resources in another order', p('cpus:4;mem:64'), [...p('mem:64'), ...p('cpus:4')], true],
    ['a scalar split in two entries', p('cpus:4'), [...p('cpus:1'), ...p('cpus:3')], true],
    ['another scalar', p('cpus:4;mem:64'), p('cpus:4;mem:65'), false],
    ['another role', p('cpus:4'), p('cpus(ads):4'), false],
    ['other ranges', p('ports:[80-90]'), p('ports:[80-91]'), false],
    ['ranges against none', p('ports:[80-90]'), p('cpus:1'), false],
  ])('%s', (_name, a, b, expected) => {
    expect(R.equals(a, b)).toBe(expected);
    expect(R.equals(b, a)).toBe(expected);
  });
});
