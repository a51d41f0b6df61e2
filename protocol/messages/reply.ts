import { z } from 'zod';

/** ErrorCode classifies every error a component answers with. */
export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  TOO_LARGE: 'TOO_LARGE',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  FORBIDDEN: 'FORBIDDEN',
  UNAVAILABLE: 'UNAVAILABLE',
  /** The caller sent more calls than its principal's rate limit allows; retry later. */
  RATE_LIMITED: 'RATE_LIMITED',
  INTERNAL: 'INTERNAL',
  /** A REGISTER's tasksDigest matched nothing the master holds: send the tasks in full. */
  DIGEST_MISMATCH: 'DIGEST_MISMATCH',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** ErrorBody is the error half of every reply. */
export const ErrorBody = z.object({
  code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Reply wraps the answer to every request: `{ ok: true, result }` or `{ ok: false, error }`. */
export function Reply<T extends z.ZodType>(result: T) {
  return z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), result }),
    z.object({ ok: z.literal(false), error: ErrorBody }),
  ]);
}
export type Reply<T> = { ok: true; result: T } | { ok: false; error: ErrorBody };
