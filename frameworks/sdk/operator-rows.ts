import type { TaskRows, TaskState, TaskView } from '../../protocol/index.js';

/** TaskPage is one answer's tasks: a validated table, or TaskView objects from a master without tables. */
export type TaskPage = TaskRows | readonly TaskView[];

/**
 * TaskRowList is the tasks of several pages as one list of rows: `length`, `at(i)` (a TaskView
 * made on demand), iteration, and the id, framework, agent and state of a row without making it.
 * `toArray()` makes every TaskView at once.
 */
export class TaskRowList implements Iterable<TaskView> {
  readonly length: number;
  /** Where each page starts in the list. */
  private readonly starts: number[] = [];

  constructor(private readonly pages: readonly TaskPage[]) {
    let n = 0;
    for (const p of pages) {
      this.starts.push(n);
      n += p.length;
    }
    this.length = n;
  }

  /** at makes the TaskView of row i. */
  at(i: number): TaskView {
    const [page, j] = this.locate(i);
    return isTable(page) ? page.at(j) : page[j];
  }

  /** taskId of row i. */
  taskId(i: number): string {
    const [page, j] = this.locate(i);
    return isTable(page) ? page.taskId(j) : page[j].taskId;
  }

  /** frameworkId of row i. */
  frameworkId(i: number): string {
    const [page, j] = this.locate(i);
    return isTable(page) ? page.frameworkId(j) : page[j].frameworkId;
  }

  /** agentId of row i. */
  agentId(i: number): string {
    const [page, j] = this.locate(i);
    return isTable(page) ? page.agentId(j) : page[j].agentId;
  }

  /** state of row i. */
  state(i: number): TaskState {
    const [page, j] = this.locate(i);
    return isTable(page) ? page.state(j) : page[j].state;
  }

  *[Symbol.iterator](): Iterator<TaskView> {
    for (const page of this.pages) yield* page;
  }

  /** toArray makes every row's TaskView, in order. */
  toArray(): TaskView[] {
    const out: TaskView[] = [];
    for (const page of this.pages) {
      if (isTable(page)) for (let j = 0; j < page.length; j++) out.push(page.at(j));
      else out.push(...page);
    }
    return out;
  }

  private locate(i: number): [TaskPage, number] {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`row ${i} is outside the list's ${this.length} rows`);
    }
    // The last page that starts at or before i (pages are few: a binary search).
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return [this.pages[lo], i - this.starts[lo]];
  }
}

function isTable(page: TaskPage): page is TaskRows {
  return !Array.isArray(page);
}
