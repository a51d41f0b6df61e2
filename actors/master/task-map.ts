import type { TaskRecord } from './state.js';

/** Where the last reader of a TaskMap stopped: its iterator, and the task it stopped at. */
interface Cursor {
  iter: Iterator<TaskRecord>;
  /** The task the reader's visit stopped at; the iterator is past it. */
  last: TaskRecord;
  /** Its position in the whole answer, as the reader counted (forEachTask's `from`). */
  lastAt: number;
  /** The reader went through every task (the last one taken): only a page after it goes on here. */
  ended: boolean;
}

/**
 * TaskMap is a framework's active tasks by id (a Map, in insertion order) that a reader can page
 * through cheaply. A GET_STATE page asks for the tasks from a position in the whole answer;
 * finding it by stepping over every earlier task made reading a framework of 80,000 tasks in
 * pages of 5,000 quadratic (600,000 steps, a fifth of a 40,000-agent read). The map keeps the
 * iterator where the last page stopped, and a page that starts there goes on from it.
 *
 * That is also the better answer while tasks come and go between pages: the iterator goes on
 * from the next task still there, where counting positions afresh would step over one task for
 * each task deleted before it (and never show it to this reader). Tasks added go at the end.
 */
export class TaskMap extends Map<string, TaskRecord> {
  private cursor: Cursor | undefined;

  /** resumes says whether a page starting at `from` goes on where the last reader stopped. */
  resumes(from: number): boolean {
    const c = this.cursor;
    return c !== undefined && (c.lastAt + 1 === from || (c.lastAt === from && !c.ended));
  }

  /**
   * visitFrom calls `visit` on tasks in order until it returns false (then false) or the tasks run
   * out (then true). With `skip`, from the map's task at that index; without, on from where the
   * last reader stopped (the caller checked resumes(from)): after the task it stopped at, or at
   * that task (as it is now) when that page did not take it. `from` is the position of the first
   * task visited in the whole answer, as the reader counts.
   */
  visitFrom(from: number, skip: number | undefined, visit: (t: TaskRecord) => boolean): boolean {
    const c = this.cursor;
    this.cursor = undefined;
    let iter: Iterator<TaskRecord>;
    let at = from;
    let last: TaskRecord | undefined;
    if (skip === undefined && c && c.lastAt + 1 === from) iter = c.iter;
    else if (skip === undefined && c && c.lastAt === from && !c.ended) {
      iter = c.iter;
      const first = this.get(c.last.info.taskId);
      if (first) {
        if (!visit(first)) {
          this.cursor = { iter, last: first, lastAt: at, ended: false };
          return false;
        }
        at++;
        last = first;
      }
    } else {
      iter = this.values();
      for (let left = skip ?? 0; left > 0 && !iter.next().done; left--);
    }
    for (let r = iter.next(); !r.done; r = iter.next(), at++) {
      if (!visit(r.value)) {
        this.cursor = { iter, last: r.value, lastAt: at, ended: false };
        return false;
      }
      last = r.value;
    }
    // Tasks added since go on the end of a map this reader has passed: a page that asks for what
    // follows goes on from here, not from a count that now includes them.
    if (last) this.cursor = { iter, last, lastAt: at - 1, ended: true };
    else if (skip === undefined) this.cursor = c;
    return true;
  }
}
