import type { TaskRecord } from './state.js';

/** Where the last reader of a TaskMap stopped: its iterator, and the task it stopped at. */
interface Cursor {
  /** The map's removals when the reader stopped: any deletion since moves the positions. */
  removals: number;
  iter: Iterator<TaskRecord>;
  /** The task the reader's visit stopped at, at position `lastAt`; the iterator is past it. */
  last: TaskRecord;
  lastAt: number;
}

/**
 * TaskMap is a framework's active tasks by id (a Map, in insertion order), which a reader can page
 * through by position cheaply. A GET_STATE page asks for the tasks from a position; finding it by
 * stepping over every earlier task made reading a framework of 80,000 tasks in pages of 5,000
 * quadratic (600,000 steps, a fifth of a 40,000-agent read). The map keeps the iterator where the
 * last page stopped, and the next page that starts there goes on from it. Positions move only when
 * a task is deleted (new tasks go at the end; replacing a task keeps its place), so any deletion
 * since makes the next page find its place afresh.
 */
export class TaskMap extends Map<string, TaskRecord> {
  /** Deletions so far. */
  private removals = 0;
  private cursor: Cursor | undefined;

  override delete(taskId: string): boolean {
    const had = super.delete(taskId);
    if (had) this.removals++;
    return had;
  }

  override clear(): void {
    if (this.size > 0) this.removals++;
    super.clear();
  }

  /**
   * visitFrom calls `visit` on the tasks from position `from` on, in order, until it returns
   * false (then false), or the tasks run out (then true).
   */
  visitFrom(from: number, visit: (t: TaskRecord) => boolean): boolean {
    const c = this.cursor;
    this.cursor = undefined;
    let iter: Iterator<TaskRecord>;
    let at = from;
    let first: TaskRecord | undefined;
    if (c && c.removals === this.removals && c.lastAt + 1 === from) iter = c.iter;
    else if (c && c.removals === this.removals && c.lastAt === from) {
      // The page before stopped at this task without taking it: it comes first (as it is now).
      iter = c.iter;
      first = this.get(c.last.info.taskId);
    } else {
      iter = this.values();
      for (at = 0; at < from && !iter.next().done; at++);
    }
    if (first && !visit(first)) {
      this.cursor = { removals: this.removals, iter, last: first, lastAt: at };
      return false;
    }
    if (first) at++;
    for (let r = iter.next(); !r.done; r = iter.next(), at++) {
      if (!visit(r.value)) {
        this.cursor = { removals: this.removals, iter, last: r.value, lastAt: at };
        return false;
      }
    }
    return true;
  }
}
