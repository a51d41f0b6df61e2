import type { z } from 'zod';
import type { ErrorCode } from '../protocol/index.js';

/** BusError is the root of every error the bus raises; `code` is the wire error code. */
export class BusError extends Error {
  override name = 'BusError';
  constructor(
    message: string,
    readonly code: ErrorCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** TooLargeError rejects a payload over the configured message limit before it is decoded. */
export class TooLargeError extends BusError {
  override name = 'TooLargeError';
  constructor(bytes: number, limit: number) {
    super(`message of ${bytes} bytes exceeds the limit of ${limit} bytes`, 'TOO_LARGE');
  }
}

/** DecodeError is a payload that is not valid msgpack. */
export class DecodeError extends BusError {
  override name = 'DecodeError';
  constructor(cause: unknown) {
    super(`message is not valid msgpack: ${(cause as Error)?.message ?? cause}`, 'BAD_REQUEST', { cause });
  }
}

/** ValidationError is a decoded message that does not match its schema. */
export class ValidationError extends BusError {
  override name = 'ValidationError';
  constructor(
    readonly issues: string,
    cause?: unknown,
  ) {
    super(`invalid message: ${issues}`, 'BAD_REQUEST', { cause });
  }
}

/** RemoteError is an error the other side answered with. */
export class RemoteError extends BusError {
  override name = 'RemoteError';
}

/** RequestTimeoutError is a request nobody answered in time (no responder, or a slow one). */
export class RequestTimeoutError extends BusError {
  override name = 'RequestTimeoutError';
  constructor(subject: string, cause?: unknown) {
    super(`no answer on ${subject}`, 'UNAVAILABLE', { cause });
  }
}

/** formatIssues renders zod issues as `path.to.field: message; ...`, the form users see. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
