import type { MasterToBatchingAgentInput, SchedulerEvent } from '../../protocol/index.js';

/** Effect is something the master decided to send; the runtime delivers it. */
export type Effect =
  | { kind: 'framework'; frameworkId: string; event: SchedulerEvent }
  | { kind: 'agent'; agentId: string; message: MasterToBatchingAgentInput }
  | { kind: 'allocate' };

/** Outcome is a handler's answer to the caller plus the effects it decided. */
export interface Outcome<T> {
  result: T;
  effects: Effect[];
}

/** MasterError is a call the master refuses; it changed nothing. */
export class MasterError extends Error {
  override name = 'MasterError';
  constructor(
    readonly code: 'BAD_REQUEST' | 'NOT_FOUND' | 'CONFLICT' | 'FORBIDDEN' | 'DIGEST_MISMATCH',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
