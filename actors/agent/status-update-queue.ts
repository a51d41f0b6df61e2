import { isTerminal, type StatusUpdate } from '../../protocol/index.js';

/**
 * UpdateStream is one task's reliable status updates: those not yet acknowledged by the
 * framework, oldest first (the head is the one in flight), and every uuid the stream has taken.
 */
export interface UpdateStream {
  readonly pending: readonly StatusUpdate[];
  readonly seen: readonly string[];
  /** A terminal update has been taken: the stream takes no more. */
  readonly terminal: boolean;
}

/** UpdateQueues are the streams of every task, keyed by `frameworkId/taskId`. */
export type UpdateQueues = Readonly<Record<string, UpdateStream>>;

/** EnqueueResult says what enqueue did with an update. */
export type EnqueueResult =
  /** Taken; `isHead` when it went straight to the head and should be forwarded now. */
  | { outcome: 'queued'; queues: UpdateQueues; isHead: boolean }
  /** Its uuid was taken before: nothing changed. */
  | { outcome: 'duplicate'; queues: UpdateQueues }
  /** The stream already took a terminal update: nothing changed. */
  | { outcome: 'after-terminal'; queues: UpdateQueues };

/** AcknowledgeResult says whether an acknowledgement popped the head, and what is next. */
export interface AcknowledgeResult {
  acked: boolean;
  queues: UpdateQueues;
  /** The new head, to forward now. */
  next?: StatusUpdate;
}

const EMPTY: UpdateStream = { pending: [], seen: [], terminal: false };

/** enqueue appends an update to its task's stream unless its uuid was seen or the stream is terminal. */
export function enqueue(queues: UpdateQueues, key: string, update: StatusUpdate): EnqueueResult {
  const stream = queues[key] ?? EMPTY;
  if (stream.seen.includes(update.status.uuid)) return { outcome: 'duplicate', queues };
  if (stream.terminal) return { outcome: 'after-terminal', queues };
  const next: UpdateStream = {
    pending: [...stream.pending, update],
    seen: [...stream.seen, update.status.uuid],
    terminal: isTerminal(update.status.state),
  };
  return { outcome: 'queued', queues: { ...queues, [key]: next }, isHead: stream.pending.length === 0 };
}

/** head is the update of a task that waits for its acknowledgement. */
export function head(queues: UpdateQueues, key: string): StatusUpdate | undefined {
  return queues[key]?.pending[0];
}

/** heads lists every stream's head, to forward them all after (re-)registering. */
export function heads(queues: UpdateQueues): [key: string, update: StatusUpdate][] {
  return Object.entries(queues).flatMap(([key, s]) =>
    s.pending.length ? [[key, s.pending[0]] as [string, StatusUpdate]] : [],
  );
}

/** acknowledge pops the head of a stream if `uuid` is the head's; any other uuid changes nothing. */
export function acknowledge(queues: UpdateQueues, key: string, uuid: string): AcknowledgeResult {
  const stream = queues[key];
  if (!stream || stream.pending[0]?.status.uuid !== uuid) return { acked: false, queues };
  const pending = stream.pending.slice(1);
  return { acked: true, queues: { ...queues, [key]: { ...stream, pending } }, next: pending[0] };
}

/** isDrained tells whether a task's stream (or, without a key, every stream) waits for nothing. */
export function isDrained(queues: UpdateQueues, key?: string): boolean {
  if (key !== undefined) return (queues[key]?.pending.length ?? 0) === 0;
  return Object.values(queues).every((s) => s.pending.length === 0);
}

/** forget drops a task's stream once nothing more will arrive for it (its executor is gone). */
export function forget(queues: UpdateQueues, key: string): UpdateQueues {
  if (!(key in queues)) return queues;
  const { [key]: _gone, ...rest } = queues;
  return rest;
}
