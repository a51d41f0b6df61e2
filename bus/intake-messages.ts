import type { ErrorCode } from '../protocol/index.js';
import type { Structures } from './record-link.js';

/** IntakeWorkerData tells an intake worker which protocol schema (an export of protocol/) it checks with. */
export interface IntakeWorkerData {
  schemaName: string;
  warmUp?: IntakeWarmUp;
}

/**
 * IntakeWarmUp is a message an intake worker parses and packs `times` times, and throws away,
 * before it says it is ready: the first thousand real messages otherwise run cold (about three
 * times slower than the rest while V8 compiles and optimizes the decode, zod and pack paths).
 */
export interface IntakeWarmUp {
  sample: Uint8Array;
  times: number;
}

/** IntakeBatch hands a worker messages as one buffer: message i ends at ends[i]. */
export interface IntakeBatch {
  data: Uint8Array;
  ends: number[];
}

/**
 * IntakeReply is a worker's answer: `ready` once it can parse, then one `parsed` per batch, in
 * order: message i's parsed value packed as link records ending at ends[i] (empty when it failed),
 * the failures as [index, code, message], and the link's structures when they changed.
 */
export type IntakeReply =
  | { kind: 'ready' }
  /** The warm-up sample did not parse: the worker still serves, cold. */
  | { kind: 'warm-up-failed'; message: string }
  | {
      kind: 'parsed';
      data: Uint8Array;
      ends: number[];
      errors: [number, ErrorCode, string][];
      structures: Structures | undefined;
    };
