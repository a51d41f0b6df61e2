import type { Offer, TaskInfoInput } from '../../protocol/index.js';
import { resources as R } from '../../protocol/index.js';
import { type Constraint, type Placement, satisfiesAll } from './constraints.js';
import { type Fit, fitTask, type OfferLeft } from './offer-fit.js';

/** Placed is one task put on an offer in this round. */
export interface Placed {
  offer: Offer;
  fit: Fit;
}

/**
 * placeOne finds the first offer in the pool with room for `want` plus `portCount` ports whose agent
 * keeps every constraint true given `placed`, takes the resources out of the pool and says where.
 */
export function placeOne(
  pool: OfferLeft[],
  want: R.Resources,
  portCount: number,
  constraints: readonly Constraint[],
  placed: readonly Placement[],
): Placed | undefined {
  for (const slot of pool) {
    const here: Placement = { hostname: slot.offer.hostname, attributes: slot.offer.attributes };
    if (!satisfiesAll(constraints, here, placed)) continue;
    const fit = fitTask(slot.left, want, portCount);
    if (!fit) continue;
    slot.left = R.subtract(slot.left, fit.resources);
    return { offer: slot.offer, fit };
  }
  return undefined;
}

/** LaunchBatch groups the tasks to launch per offer. */
export class LaunchBatch {
  readonly byOffer = new Map<string, { offer: Offer; tasks: TaskInfoInput[] }>();

  add(offer: Offer, task: TaskInfoInput): void {
    const entry = this.byOffer.get(offer.id) ?? { offer, tasks: [] };
    entry.tasks.push(task);
    this.byOffer.set(offer.id, entry);
  }
}

/** Launcher is the part of the SDK Scheduler a round of offers needs. */
export interface Launcher {
  launch(offer: Offer, tasks: TaskInfoInput[], filters?: { refuseSeconds?: number }): Promise<void>;
  decline(offerIds: string[], filters?: { refuseSeconds?: number }): Promise<void>;
}

/**
 * settleOffers launches the batch and declines the offers it did not use: for a short while when
 * something still waits for room, for longer when the framework wants nothing (it revives when it
 * does). Returns the offers whose launch the master refused, with the error.
 */
export async function settleOffers(
  scheduler: Launcher,
  offers: readonly Offer[],
  batch: LaunchBatch,
  wantsMore: boolean,
): Promise<{ offer: Offer; tasks: TaskInfoInput[]; error: Error }[]> {
  const failed: { offer: Offer; tasks: TaskInfoInput[]; error: Error }[] = [];
  for (const { offer, tasks } of batch.byOffer.values()) {
    try {
      await scheduler.launch(offer, tasks, { refuseSeconds: 1 });
    } catch (error) {
      failed.push({ offer, tasks, error: error as Error });
    }
  }
  const unused = offers.filter((o) => !batch.byOffer.has(o.id)).map((o) => o.id);
  if (unused.length) await scheduler.decline(unused, { refuseSeconds: wantsMore ? 1 : 10 }).catch(() => {});
  return failed;
}
