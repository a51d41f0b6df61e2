import { type Offer, resources as R, type Resources } from '../../protocol/index.js';
import type { SpecResources } from './spec-fields.js';

/** Fit is what one task takes from an offer: the resources (with roles) and the ports chosen. */
export interface Fit {
  resources: Resources;
  ports: number[];
}

/** wantOf turns a spec's resources into a protocol request, without ports. */
export function wantOf(r: SpecResources): Resources {
  return R.normalize([
    { name: 'cpus', scalar: r.cpus },
    { name: 'mem', scalar: r.mem },
    ...(r.disk > 0 ? [{ name: 'disk', scalar: r.disk }] : []),
    ...(r.gpus > 0 ? [{ name: 'gpus', scalar: r.gpus }] : []),
  ]);
}

/** pickPorts takes the `count` lowest ports of the ranges, or undefined when there are not enough. */
export function pickPorts(ranges: readonly [number, number][], count: number): number[] | undefined {
  const out: number[] = [];
  for (const [b, e] of R.mergeRanges(ranges)) {
    for (let p = b; p <= e && out.length < count; p++) out.push(p);
    if (out.length === count) break;
  }
  return out.length === count ? out : undefined;
}

/**
 * fitTask decides whether `want` plus `portCount` ports fit in what is left of an offer, and what
 * they take. Pure: the caller subtracts the result from `left` to place the next task.
 */
export function fitTask(left: Resources, want: Resources, portCount: number): Fit | undefined {
  const ports = portCount > 0 ? pickPorts(R.ranges(left, 'ports'), portCount) : [];
  if (!ports) return undefined;
  const request =
    portCount > 0
      ? R.add(want, [{ name: 'ports', ranges: ports.map((p): [number, number] => [p, p]) }])
      : want;
  const taken = R.fitIn(left, request);
  return taken ? { resources: taken, ports } : undefined;
}

/** OfferLeft tracks what remains of one offer while tasks are placed on it. */
export interface OfferLeft {
  offer: Offer;
  left: Resources;
}

/** offerPool starts tracking a batch of offers. */
export function offerPool(offers: readonly Offer[]): OfferLeft[] {
  return offers.map((offer) => ({ offer, left: R.normalize(offer.resources) }));
}
