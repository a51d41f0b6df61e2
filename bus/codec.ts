// 'msgpackr/pack' is msgpackr without its native string extractor, which decodes all of a message's
// strings as one and hands out slices of it: every id or uuid a master keeps would keep its whole
// message alive (a third of a 10,000-agent master's heap was REGISTERs held that way).
import { Packr } from 'msgpackr/pack';
import { Limits } from '../protocol/index.js';
import { DecodeError, TooLargeError } from './errors.js';

// Plain maps and no shared record structures: every message decodes on its own, whoever sent it.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });

/** encode packs a value as msgpack. */
export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** decode unpacks msgpack, refusing payloads over `limit` bytes before reading them. */
export function decode(bytes: Uint8Array, limit: number = Limits.maxMessageBytes): unknown {
  if (bytes.byteLength > limit) throw new TooLargeError(bytes.byteLength, limit);
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw new DecodeError(err);
  }
}
