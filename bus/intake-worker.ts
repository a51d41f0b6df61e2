import { parentPort, workerData } from 'node:worker_threads';
import type { ZodType } from 'zod';
import * as protocol from '../protocol/index.js';
import { parseWith } from './bus.js';
import { decode } from './codec.js';
import { BusError } from './errors.js';
import type { IntakeBatch, IntakeReply, IntakeWorkerData } from './intake-messages.js';
import { LinkEncoder } from './record-link.js';

// The worker thread of a WorkerIntake: it decodes and validates the messages it is handed with the
// protocol schema named in workerData, and hands back zod's output packed as records (cheap for the
// parent to unpack) or the error the parent answers with. Messages come and go in order.

const port = parentPort;
if (!port) throw new Error('intake-worker runs as a worker thread');
const { schemaName, warmUp } = workerData as IntakeWorkerData;
const schema = (protocol as Record<string, unknown>)[schemaName] as ZodType | undefined;
if (!schema || typeof schema.safeParse !== 'function')
  throw new Error(`protocol has no schema ${schemaName}`);

const link = new LinkEncoder();
let out = new Uint8Array(256 * 1024);

function room(need: number, used: number): void {
  if (used + need <= out.byteLength) return;
  const bigger = new Uint8Array(Math.max(out.byteLength * 2, used + need));
  bigger.set(out.subarray(0, used));
  out = bigger;
}

port.on('message', (batch: IntakeBatch) => {
  const ends: number[] = [];
  const errors: Extract<IntakeReply, { kind: 'parsed' }>['errors'] = [];
  let used = 0;
  let start = 0;
  for (let i = 0; i < batch.ends.length; i++) {
    const bytes = batch.data.subarray(start, batch.ends[i]);
    start = batch.ends[i];
    try {
      // The parent checked the size against its bus's limit before handing the bytes over.
      const packed = link.encode(parseWith(schema, decode(bytes, Number.MAX_SAFE_INTEGER)));
      room(packed.byteLength, used);
      out.set(packed, used);
      used += packed.byteLength;
    } catch (err) {
      errors.push(
        err instanceof BusError
          ? [i, err.code, err.message]
          : [i, 'INTERNAL', `could not check the message: ${(err as Error)?.message ?? err}`],
      );
    }
    ends.push(used);
  }
  const data = out.slice(0, used);
  const reply: IntakeReply = { kind: 'parsed', data, ends, errors, structures: link.takeStructures() };
  port.postMessage(reply, [data.buffer]);
});
// Warm up on the sample before taking real messages; its output is thrown away (the structures it
// adds to the link reach the parent with the first real batch, as any others do).
if (warmUp) {
  for (let i = 0; i < warmUp.times; i++) {
    try {
      link.encode(parseWith(schema, decode(warmUp.sample, Number.MAX_SAFE_INTEGER)));
    } catch (err) {
      port.postMessage({
        kind: 'warm-up-failed',
        message: (err as Error)?.message ?? String(err),
      } satisfies IntakeReply);
      break;
    }
  }
}
port.postMessage({ kind: 'ready' } satisfies IntakeReply);
