import { describe, expect, it } from 'vitest';
import { measureTaskHeap } from '../../bench/state/task-heap.js';

describe('bench task-heap smoke', () => {
  it('fills a master with running tasks through REGISTERs and prints the heap they take', () => {
    const r = measureTaskHeap({ agents: 20, perAgent: 3 });
    expect(r.tasks).toBe(60);
    expect(r.line).toMatch(/^task_heap agents=20 tasks=60 heap_mb=-?[\d.]+ bytes_per_task=-?\d+$/);
  });
});
