import { z } from 'zod';
import { MasterToAgent, MasterToBatchingAgent } from './agent.js';
import { SchedulerEvent } from './scheduler.js';

/**
 * Epoch is the leader's term, stamped on what a leading master sends (HA). Receivers ignore a
 * message whose epoch is older than the newest they have seen; messages without one (a master
 * running without election) are taken as before.
 */
export const Epoch = z.object({ epoch: z.number().int().nonnegative().optional() });

/** StampedMasterToAgent is MasterToAgent with the sender's epoch. */
export const StampedMasterToAgent = MasterToAgent.and(Epoch);
export type StampedMasterToAgent = z.infer<typeof StampedMasterToAgent>;

/** StampedMasterToBatchingAgent is MasterToBatchingAgent with the sender's epoch. */
export const StampedMasterToBatchingAgent = MasterToBatchingAgent.and(Epoch);
export type StampedMasterToBatchingAgent = z.infer<typeof StampedMasterToBatchingAgent>;

/** StampedSchedulerEvent is SchedulerEvent with the sender's epoch. */
export const StampedSchedulerEvent = SchedulerEvent.and(Epoch);
export type StampedSchedulerEvent = z.infer<typeof StampedSchedulerEvent>;

/**
 * LeaderAnnouncement is what a newly elected master publishes on `leader()`, and again
 * periodically while it leads: agents and frameworks that see a newer epoch re-register.
 */
export const LeaderAnnouncement = z.object({
  masterId: z.string().min(1).max(128),
  epoch: z.number().int().nonnegative(),
  electedAt: z.number(),
});
export type LeaderAnnouncement = z.infer<typeof LeaderAnnouncement>;
