import type { TaskOutput } from '../../protocol/index.js';

/** TAIL_BYTES is how much of each stream of each task a framework keeps for `mezzo logs`. */
export const TAIL_BYTES = 32 * 1024;

/** TaskTail is the recent output of one task. */
export interface TaskTail {
  stdout: string;
  stderr: string;
}

/**
 * OutputTails keeps the last TAIL_BYTES of each task's stdout and stderr, as chunks arrive on the
 * task's output subject (live, best effort: what was printed while the framework was down is only
 * in the agent's sandbox).
 */
export class OutputTails {
  private readonly tails = new Map<string, TaskTail>();
  private readonly decoder = new TextDecoder();
  private readonly following = new Map<string, () => void>();

  /** `followOutput` subscribes to a task's output (the SDK Scheduler's); it returns the unsubscribe. */
  constructor(
    private readonly followOutput?: (taskId: string, onChunk: (chunk: TaskOutput) => void) => () => void,
  ) {}

  /** follow keeps a task's recent output; called before its launch so the first bytes are seen. */
  follow(taskId: string): void {
    if (!this.followOutput || this.following.has(taskId)) return;
    this.following.set(
      taskId,
      this.followOutput(taskId, (chunk) => this.add(taskId, chunk)),
    );
  }

  /** unfollow stops following a task (its tail stays until keepOnly drops it). */
  unfollow(taskId: string): void {
    this.following.get(taskId)?.();
    this.following.delete(taskId);
  }

  /** add appends a chunk to a task's tail. */
  add(taskId: string, chunk: TaskOutput): void {
    const t = this.tails.get(taskId) ?? { stdout: '', stderr: '' };
    const text = t[chunk.stream] + this.decoder.decode(chunk.data);
    t[chunk.stream] = text.length > TAIL_BYTES ? text.slice(text.length - TAIL_BYTES) : text;
    this.tails.set(taskId, t);
  }

  get(taskId: string): TaskTail {
    return this.tails.get(taskId) ?? { stdout: '', stderr: '' };
  }

  /** forget drops the tails of tasks that are no longer kept. */
  keepOnly(taskIds: ReadonlySet<string>): void {
    for (const id of this.tails.keys()) if (!taskIds.has(id)) this.tails.delete(id);
  }
}
