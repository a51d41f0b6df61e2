import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../bus/codec.js';
import { LinkDecoder, LinkEncoder } from '../../bus/record-link.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MESSAGES = 2_000;
/** About 2.7 KB of short strings besides the id, like a REGISTER's task ids and uuids. */
const items = (i: number) =>
  Array.from({ length: 100 }, (_, k) => `item-${k}-${String(i).padStart(16, '0')}`);

/**
 * heldBytes decodes MESSAGES messages of one 26-character id and 100 short strings,
 * keeps only the ids, and returns how much the heap grew after a full collection.
 */
function heldBytes(roundTrip: (value: unknown) => unknown): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const ids: string[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const m = roundTrip({ id: `agent-${String(i).padStart(20, '0')}`, items: items(i) }) as { id: string };
    ids.push(m.id);
  }
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  expect(ids[MESSAGES - 1]).toBe(`agent-${String(MESSAGES - 1).padStart(20, '0')}`);
  return grown;
}

// What a master keeps from a message (ids, uuids, hostnames) must not keep the whole message
// alive: msgpackr's native string extractor decodes a message's strings as one and hands out
// slices of it, which is what a large master's heap was full of.
describe('strings decoded from a message', () => {
  it('do not hold the rest of the message (codec)', () => {
    // The ids alone are about 100 KB; holding the messages would be about 5 MB.
    expect(heldBytes((v) => decode(encode(v)))).toBeLessThan(2_000_000);
  });

  it('do not hold the rest of the record batch (worker link)', () => {
    const enc = new LinkEncoder();
    const dec = new LinkDecoder();
    const grown = heldBytes((v) => {
      const bytes = Uint8Array.from(enc.encode(v));
      const structures = enc.takeStructures();
      if (structures) dec.update(structures);
      return dec.decode(bytes);
    });
    expect(grown).toBeLessThan(2_000_000);
  });
});
