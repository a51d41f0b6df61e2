/**
 * The allocator: who is offered what. HierarchicalAllocator is the Mesos-style hierarchical DRF
 * allocator the master drives; the pure helpers decide shares, minimums, quota and reservations.
 */
export * from './drf.js';
export * from './errors.js';
export { HierarchicalAllocator } from './hierarchical-allocator.js';
export type { AllocatorMetrics } from './metrics.js';
export { validateQuota, validateWeights } from './quota.js';
export { applyReservation, type ReservationOp, validateReservation } from './reservation.js';
export type * from './types.js';
