import { z } from 'zod';
import { Id, RoleName } from '../ids.js';
import { Limits } from '../limits.js';
import { Filters, FrameworkInfo, KillPolicy, Offer, Operation, TaskStatus } from './common.js';

/**
 * SchedulerCall is the framework -> master edge, sent as a request on
 * `scheduler(frameworkId)`; every call is answered with a Reply.
 */
export const SchedulerCall = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('SUBSCRIBE'),
    framework: FrameworkInfo,
    /** Names this scheduler instance; a SUBSCRIBE from another session takes the framework over. */
    session: z.string().min(1).max(64).optional(),
  }),
  z.object({ type: z.literal('TEARDOWN') }),
  z.object({
    type: z.literal('ACCEPT'),
    offerIds: z.array(Id).min(1).max(Limits.maxOffersPerCall),
    operations: z.array(Operation).max(1024),
    filters: Filters.optional(),
  }),
  z.object({
    type: z.literal('DECLINE'),
    offerIds: z.array(Id).min(1).max(Limits.maxOffersPerCall),
    filters: Filters.optional(),
  }),
  z.object({ type: z.literal('REVIVE'), roles: z.array(RoleName).max(64).optional() }),
  z.object({ type: z.literal('SUPPRESS'), roles: z.array(RoleName).max(64).optional() }),
  z.object({
    type: z.literal('KILL'),
    taskId: Id,
    agentId: Id.optional(),
    killPolicy: KillPolicy.optional(),
  }),
  z.object({ type: z.literal('ACKNOWLEDGE'), agentId: Id, taskId: Id, uuid: z.string().min(1).max(64) }),
  /** Many ACKNOWLEDGEs in one call: all are checked first, and none applies if one is refused. */
  z.object({
    type: z.literal('ACKNOWLEDGE_BATCH'),
    acks: z
      .array(z.object({ agentId: Id, taskId: Id, uuid: z.string().min(1).max(64) }))
      .min(1)
      .max(Limits.maxBatch),
  }),
  z.object({
    type: z.literal('RECONCILE'),
    tasks: z.array(z.object({ taskId: Id, agentId: Id.optional() })).max(Limits.maxReconcileTasks),
  }),
  z.object({ type: z.literal('HEARTBEAT') }),
]);
export type SchedulerCall = z.infer<typeof SchedulerCall>;
export type SchedulerCallInput = z.input<typeof SchedulerCall>;

/** Subscribed is the result of a SUBSCRIBE call. */
export const Subscribed = z.object({
  frameworkId: Id,
  heartbeatIntervalSeconds: z.number().positive(),
  masterId: z.string(),
  resubscribed: z.boolean(),
});
export type Subscribed = z.infer<typeof Subscribed>;

/** SchedulerEvent is the master -> framework edge, published on `frameworkEvents(frameworkId)`. */
export const SchedulerEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('OFFERS'), offers: z.array(Offer) }),
  z.object({ type: z.literal('RESCIND'), offerId: Id }),
  z.object({ type: z.literal('UPDATE'), status: TaskStatus }),
  z.object({
    type: z.literal('FAILURE'),
    agentId: Id,
    executorId: Id.optional(),
    exitCode: z.number().int().optional(),
  }),
  z.object({
    type: z.literal('ERROR'),
    message: z.string(),
    /** When set, the error is for that scheduler session only (one that was taken over). */
    session: z.string().max(64).optional(),
  }),
  z.object({ type: z.literal('HEARTBEAT') }),
]);
export type SchedulerEvent = z.infer<typeof SchedulerEvent>;
