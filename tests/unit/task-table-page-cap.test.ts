import { describe, expect, it } from 'vitest';
import {
  maxPayloadOf,
  pageBytesFor,
  TASK_TABLE_PAGE_BYTES,
} from '../../actors/master/task-table-page-cap.js';

describe('pageBytesFor', () => {
  it('is half the server max_payload, at most TASK_TABLE_PAGE_BYTES', () => {
    expect(pageBytesFor(1024 * 1024)).toBe(512 * 1024);
    expect(pageBytesFor(64 * 1024)).toBe(32 * 1024);
    expect(pageBytesFor(8 * 1024 * 1024)).toBe(TASK_TABLE_PAGE_BYTES);
    expect(pageBytesFor(64 * 1024 * 1024)).toBe(TASK_TABLE_PAGE_BYTES);
  });

  it('is TASK_TABLE_PAGE_BYTES when the limit is unknown or nonsense', () => {
    for (const m of [undefined, 0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(pageBytesFor(m)).toBe(TASK_TABLE_PAGE_BYTES);
    }
  });
});

describe('maxPayloadOf', () => {
  it('reads max_payload from a bus connection INFO, and nothing from anything else', () => {
    expect(maxPayloadOf({ nc: { info: { max_payload: 1048576 } } })).toBe(1048576);
    expect(maxPayloadOf({ nc: { info: { max_payload: '1048576' } } })).toBeUndefined();
    expect(maxPayloadOf({ nc: {} })).toBeUndefined();
    expect(maxPayloadOf({})).toBeUndefined();
    expect(maxPayloadOf(undefined)).toBeUndefined();
  });
});
