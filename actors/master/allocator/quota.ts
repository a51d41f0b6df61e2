import { DEFAULT_ROLE, resources as R, type Resources, RoleName } from '../../../protocol/index.js';
import { QuotaError, WeightError } from './errors.js';
import type { Quota } from './types.js';

function checkAmounts(
  role: string,
  what: 'guarantee' | 'limit',
  rs: Resources | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs ?? []) {
    if (r.ranges !== undefined || r.scalar === undefined) {
      throw new QuotaError(
        `quota ${what} for role "${role}" names ${r.name} with ranges; quota applies to scalar resources only`,
      );
    }
    if (r.role !== undefined && r.role !== DEFAULT_ROLE) {
      throw new QuotaError(
        `quota ${what} for role "${role}" names ${r.name}(${r.role}); quota is on unreserved quantities`,
      );
    }
    if (!Number.isFinite(r.scalar) || r.scalar < 0) {
      throw new QuotaError(
        `quota ${what} for role "${role}" has ${r.name}:${r.scalar}; amounts must be finite and non-negative`,
      );
    }
    out[r.name] = R.roundScalar((out[r.name] ?? 0) + r.scalar);
  }
  return out;
}

/**
 * validateQuota checks a quota update and returns its amounts by name; it throws QuotaError when
 * the role is not a top-level role, an amount is not a non-negative scalar, or a guarantee exceeds
 * its limit.
 */
export function validateQuota(
  role: string,
  quota: Quota,
): { guarantee: Record<string, number>; limit: Record<string, number> } {
  if (!RoleName.safeParse(role).success) throw new QuotaError(`role "${role}" is not a valid role name`);
  if (role === DEFAULT_ROLE) throw new QuotaError('quota cannot be set on the default role "*"');
  if (role.includes('/'))
    throw new QuotaError(`quota can only be set on top-level roles; "${role}" is nested`);
  const guarantee = checkAmounts(role, 'guarantee', quota.guarantee);
  const limit = checkAmounts(role, 'limit', quota.limit);
  for (const [name, g] of Object.entries(guarantee)) {
    const l = limit[name];
    if (l !== undefined && g > l) {
      throw new QuotaError(`quota for role "${role}" guarantees ${name}:${g} above its limit ${name}:${l}`);
    }
  }
  return { guarantee, limit };
}

/** validateWeights checks a weight update: valid role names, weights finite and above zero. */
export function validateWeights(weights: Readonly<Record<string, number>>): void {
  for (const [role, w] of Object.entries(weights)) {
    if (!RoleName.safeParse(role).success) throw new WeightError(`role "${role}" is not a valid role name`);
    if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) {
      throw new WeightError(`weight of role "${role}" must be a finite number above zero, not ${String(w)}`);
    }
  }
}
