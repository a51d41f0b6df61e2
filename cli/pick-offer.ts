import { type Offer, resources as R, type Resources } from '../protocol/index.js';

/** OfferChoice is the offer to launch on (if any) and the offers to decline. */
export interface OfferChoice {
  offer?: Offer;
  decline: Offer[];
}

/**
 * pickOffer chooses the first offer whose resources usable by the role fit the request; every
 * other offer is to be declined.
 */
export function pickOffer(
  offers: readonly Offer[],
  request: { resources: Resources; role: string },
): OfferChoice {
  const offer = offers.find(
    (o) => R.fitIn(R.usableBy(o.resources, request.role), request.resources) !== undefined,
  );
  return { ...(offer ? { offer } : {}), decline: offers.filter((o) => o !== offer) };
}
