import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../frameworks/sdk/index.js';

interface Events {
  tick: (n: number) => unknown;
}

class Ticker extends TypedEmitter<Events> {
  readonly errors: unknown[] = [];
  constructor() {
    super((_event, err) => void this.errors.push(err));
  }
  tick(n: number) {
    return this.emit('tick', n);
  }
}

describe('the SDK event emitter', () => {
  it('reports a throwing handler and still runs the others', () => {
    const t = new Ticker();
    const seen: number[] = [];
    t.on('tick', () => {
      throw new Error('boom');
    });
    t.on('tick', (n) => void seen.push(n));
    const out = t.tick(1);
    expect(out.failed).toBe(true);
    expect(seen).toEqual([1]);
    expect(t.errors.map((e) => (e as Error).message)).toEqual(['boom']);
  });

  it('reports an async handler that rejects instead of leaving an unhandled rejection', async () => {
    const t = new Ticker();
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => void unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      t.on('tick', async () => {
        throw new Error('late call refused');
      });
      const out = t.tick(2);
      expect(out.failed).toBe(false);
      await Promise.allSettled(out.results);
      await new Promise((r) => setTimeout(r, 20));
      expect(t.errors.map((e) => (e as Error).message)).toEqual(['late call refused']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
