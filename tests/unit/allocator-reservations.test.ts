import { describe, expect, it } from 'vitest';
import {
  AllocatorStateError,
  applyReservation,
  HierarchicalAllocator,
  ReservationError,
  validateReservation,
} from '../../actors/master/allocator/index.js';
import { resources as R } from '../../protocol/index.js';

const res = R.parseResources;
const offered = (a: HierarchicalAllocator, now = 0) =>
  a.allocate(now).map((o) => [o.frameworkId, o.role, R.formatResources(o.resources)]);

describe('static reservations', () => {
  it('offers reserved resources only to their role, unreserved ones to anyone', () => {
    const a = new HierarchicalAllocator();
    a.addFramework('dev', { roles: ['dev'] });
    a.addAgent('x', res('cpus:2;cpus(ads):2;mem:1024;mem(ads):512'));
    expect(offered(a)).toEqual([['dev', 'dev', 'cpus:2;mem:1024']]);
    a.addFramework('ads', { roles: ['ads'] });
    expect(offered(a)).toEqual([['ads', 'ads', 'cpus(ads):2;mem(ads):512']]);
  });

  it('offers a role the reservations of its ancestors, never of a mere name prefix', () => {
    const a = new HierarchicalAllocator();
    a.addFramework('prefix', { roles: ['engineering'] });
    a.addAgent('x', res('cpus(eng):2;mem(eng):256'));
    expect(offered(a)).toEqual([]);
    a.addFramework('backend', { roles: ['eng/backend'] });
    expect(offered(a)).toEqual([['backend', 'eng/backend', 'cpus(eng):2;mem(eng):256']]);
  });
});

describe('dynamic reservations', () => {
  it('reserves available unreserved resources and offers them to the role from then on', () => {
    const a = new HierarchicalAllocator();
    a.addFramework('dev', { roles: ['dev'] });
    a.addAgent('x', res('cpus:4;mem:1024'));
    const total = a.updateReservation('x', { type: 'RESERVE', resources: res('cpus(ads):3;mem(ads):512') });
    expect(total).toEqual(res('cpus:1;cpus(ads):3;mem:512;mem(ads):512'));
    expect(a.agentAllocations('x')?.total).toEqual(total);
    expect(offered(a)).toEqual([['dev', 'dev', 'cpus:1;mem:512']]);
  });

  it('unreserves them back and refuses to unreserve what is not reserved', () => {
    const a = new HierarchicalAllocator();
    a.addAgent('x', res('cpus:1;cpus(ads):3;mem:512'));
    expect(() => a.updateReservation('x', { type: 'UNRESERVE', resources: res('cpus:1') })).toThrow(
      'cannot UNRESERVE cpus:1: it is not reserved',
    );
    expect(() => a.updateReservation('x', { type: 'UNRESERVE', resources: res('cpus(ads):4') })).toThrow(
      'the agent has only cpus(ads):3 reserved and available',
    );
    expect(a.updateReservation('x', { type: 'UNRESERVE', resources: res('cpus(ads):3') })).toEqual(
      res('cpus:4;mem:512'),
    );
  });

  it('refuses to reserve what is offered or used, and changes nothing', () => {
    const a = new HierarchicalAllocator();
    a.addFramework('dev', { roles: ['dev'] });
    a.addAgent('x', res('cpus:4;mem:1024'), [{ frameworkId: 'dev', role: 'dev', resources: res('cpus:1') }]);
    a.allocate(0); // cpus 3, mem 1024 now offered to dev
    expect(() => a.updateReservation('x', { type: 'RESERVE', resources: res('cpus(ads):1') })).toThrow(
      ReservationError,
    );
    expect(a.agentAllocations('x')?.total).toEqual(res('cpus:4;mem:1024'));
  });

  it('refuses a new total that does not hold what is offered and used there', () => {
    const a = new HierarchicalAllocator();
    a.addAgent('x', res('cpus:4;mem:1024'), [{ frameworkId: 'dev', role: 'dev', resources: res('cpus:3') }]);
    expect(() => a.updateAgentTotal('x', res('cpus(ads):4;mem:1024'))).toThrow(AllocatorStateError);
    a.updateAgentTotal('x', res('cpus:3;cpus(ads):1;mem:1024'));
    expect(a.agentAllocations('x')?.available).toEqual(res('cpus(ads):1;mem:1024'));
  });
});

describe('the pure reservation helpers', () => {
  const available = res('cpus:2;cpus(ads):1;mem:512');
  it.each([
    ['RESERVE', 'cpus(ads):2', undefined],
    [
      'RESERVE',
      'cpus(ads):3',
      'cannot RESERVE cpus(ads):3: the agent has only cpus:2;mem:512 unreserved and available',
    ],
    ['RESERVE', 'cpus:1', 'RESERVE of cpus:1 names no role to reserve for'],
    ['RESERVE', 'disk(ads):10', 'cannot RESERVE disk(ads):10'],
    ['UNRESERVE', 'cpus(ads):1', undefined],
    ['UNRESERVE', 'cpus(ads):2', 'the agent has only cpus(ads):1 reserved and available'],
    ['UNRESERVE', 'mem:1', 'cannot UNRESERVE mem:1: it is not reserved'],
    ['UNRESERVE', 'cpus(web):1', 'cannot UNRESERVE cpus(web):1'],
  ] as const)('%s %s -> %s', (type, text, message) => {
    const err = validateReservation(available, { type, resources: res(text) });
    if (message === undefined) expect(err).toBeUndefined();
    else {
      expect(err).toBeInstanceOf(ReservationError);
      expect(err?.message).toContain(message);
    }
  });

  it('rejects an operation with no resources', () => {
    expect(validateReservation(available, { type: 'RESERVE', resources: [] })?.message).toBe(
      'RESERVE names no resources',
    );
  });

  it('moves resources between unreserved and reserved in the total', () => {
    const total = res('cpus:4;cpus(ads):1;mem:1024');
    // RESERVE cpus(ads):2: cpus 4 - 2 = 2, cpus(ads) 1 + 2 = 3
    expect(applyReservation(total, available, { type: 'RESERVE', resources: res('cpus(ads):2') })).toEqual(
      res('cpus:2;cpus(ads):3;mem:1024'),
    );
    // UNRESERVE cpus(ads):1: cpus(ads) 1 - 1 = 0, cpus 4 + 1 = 5
    expect(applyReservation(total, available, { type: 'UNRESERVE', resources: res('cpus(ads):1') })).toEqual(
      res('cpus:5;mem:1024'),
    );
    expect(() => applyReservation(total, available, { type: 'UNRESERVE', resources: res('cpus:1') })).toThrow(
      ReservationError,
    );
  });
});
