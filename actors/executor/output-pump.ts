import { createWriteStream } from 'node:fs';
import type { TaskOutput } from '../../protocol/index.js';

/** MAX_CHUNK_BYTES is the largest piece of output one TaskOutput message carries. */
export const MAX_CHUNK_BYTES = 64 * 1024;

/** OutputStreamName is stdout or stderr. */
export type OutputStreamName = TaskOutput['stream'];

/** chunk cuts data into pieces of at most `max` bytes (none for empty data). */
export function chunk(data: Uint8Array, max: number = MAX_CHUNK_BYTES): Uint8Array<ArrayBuffer>[] {
  const out: Uint8Array<ArrayBuffer>[] = [];
  for (let i = 0; i < data.byteLength; i += max) out.push(data.slice(i, Math.min(i + max, data.byteLength)));
  return out;
}

/** OutputPump takes one stream of a task's output to its sandbox file and, live, to the bus. */
export interface OutputPump {
  write(data: Uint8Array): void;
  /** Publishes the end-of-stream marker (once) and resolves when the file is flushed. */
  end(): Promise<void>;
}

/**
 * createOutputPump appends a stream to `path` and publishes it in chunks of at most 64 KB, each
 * with the stream's next sequence number; the end is a chunk with no data and `eof: true`.
 */
export function createOutputPump(
  stream: OutputStreamName,
  path: string,
  publish: (chunk: TaskOutput) => void,
): OutputPump {
  const file = createWriteStream(path, { flags: 'a' });
  file.on('error', () => {}); // a full disk must not take the executor down; the bus copy still flows
  let seq = 0;
  let ending: Promise<void> | undefined;
  return {
    write(data) {
      if (ending) return;
      file.write(data);
      for (const piece of chunk(data)) publish({ stream, seq: seq++, data: piece, eof: false });
    },
    end() {
      if (!ending) {
        publish({ stream, seq: seq++, data: new Uint8Array(0), eof: true });
        ending = new Promise((resolve) => file.end(() => resolve()));
      }
      return ending;
    },
  };
}
