import { DEFAULT_ROLE, resources as R, type Resources, RoleName } from '../../../protocol/index.js';
import { ReservationError } from './errors.js';

/** ReservationOp is a dynamic reservation change on one agent (Mesos RESERVE / UNRESERVE). */
export interface ReservationOp {
  type: 'RESERVE' | 'UNRESERVE';
  /** The resources as they will be (RESERVE) or are (UNRESERVE) reserved, each with its role. */
  resources: Resources;
}

const unreservedPart = (rs: Resources): Resources =>
  rs.filter((r) => (r.role ?? DEFAULT_ROLE) === DEFAULT_ROLE);

/**
 * validateReservation tells why an operation cannot apply to an agent, or undefined when it can.
 * RESERVE takes unreserved resources that are available (neither offered nor used); UNRESERVE
 * gives back reserved resources that are available.
 */
export function validateReservation(available: Resources, op: ReservationOp): ReservationError | undefined {
  const rs = R.normalize(op.resources);
  if (rs.length === 0) return new ReservationError(`${op.type} names no resources`);
  for (const r of op.resources) {
    const role = r.role ?? DEFAULT_ROLE;
    if (!RoleName.safeParse(role).success)
      return new ReservationError(`${op.type} names an invalid role "${role}"`);
    if (role === DEFAULT_ROLE) {
      return new ReservationError(
        op.type === 'RESERVE'
          ? `RESERVE of ${R.formatResources([r])} names no role to reserve for`
          : `cannot UNRESERVE ${R.formatResources([r])}: it is not reserved`,
      );
    }
  }
  if (op.type === 'RESERVE') {
    const want = R.unreserve(rs);
    if (!R.contains(unreservedPart(available), want)) {
      return new ReservationError(
        `cannot RESERVE ${R.formatResources(rs)}: the agent has only ${R.formatResources(unreservedPart(available)) || 'nothing'} unreserved and available`,
      );
    }
  } else if (!R.contains(available, rs)) {
    const reserved = available.filter((r) => (r.role ?? DEFAULT_ROLE) !== DEFAULT_ROLE);
    return new ReservationError(
      `cannot UNRESERVE ${R.formatResources(rs)}: the agent has only ${R.formatResources(reserved) || 'nothing'} reserved and available`,
    );
  }
  return undefined;
}

/**
 * applyReservation returns an agent's total after a RESERVE or UNRESERVE, or throws
 * ReservationError (see validateReservation) and changes nothing.
 */
export function applyReservation(total: Resources, available: Resources, op: ReservationOp): Resources {
  const err = validateReservation(available, op);
  if (err) throw err;
  const rs = R.normalize(op.resources);
  return op.type === 'RESERVE'
    ? R.add(R.subtract(total, R.unreserve(rs)), rs)
    : R.add(R.subtract(total, rs), R.unreserve(rs));
}
