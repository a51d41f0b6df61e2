// Without msgpackr's native string extractor, as in codec.ts.
import { Packr } from 'msgpackr/pack';

/**
 * Structures are msgpackr's record definitions (the key lists of the object shapes seen so far),
 * shared by the two ends of one in-process link.
 */
export type Structures = string[][];

const BASE = { mapsAsObjects: true, moreTypes: false, int64AsType: 'number' } as const;

/**
 * LinkEncoder packs values for one LinkDecoder in the same process (a worker thread and its
 * parent): as msgpack records whose key lists are sent once, out of band, instead of in every
 * message. Decoding such records costs a fifth of decoding plain maps (6 vs 27 us for a REGISTER
 * of 10 tasks). Never use it on the wire: the two ends must see every structure update in order.
 */
export class LinkEncoder {
  private pending: Structures | undefined;
  private readonly packr = new Packr({
    ...BASE,
    structures: [],
    saveStructures: (structures: unknown[]) => {
      this.pending = (structures as string[][]).map((s) => [...s]);
    },
  });

  /** encode packs one value; the bytes are valid until the next call, so copy them out. */
  encode(value: unknown): Uint8Array {
    return this.packr.pack(value);
  }

  /**
   * takeStructures returns the shared structures when they changed since the last call: the
   * decoder must get them before it decodes anything encoded since.
   */
  takeStructures(): Structures | undefined {
    const s = this.pending;
    this.pending = undefined;
    return s;
  }
}

/** LinkDecoder unpacks what one LinkEncoder packed, given its structure updates in order. */
export class LinkDecoder {
  private packr = new Packr({ ...BASE, structures: [] });

  /** update takes the encoder's structures (from takeStructures) before the values encoded with them. */
  update(structures: Structures): void {
    this.packr = new Packr({ ...BASE, structures: structures.map((s) => [...s]) });
  }

  decode(bytes: Uint8Array): unknown {
    return this.packr.unpack(bytes);
  }
}
