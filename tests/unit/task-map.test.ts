import { describe, expect, it } from 'vitest';
import type { FrameworkRecord, TaskRecord } from '../../actors/master/state.js';
import { TaskMap } from '../../actors/master/task-map.js';
import { forEachTask } from '../../actors/master/task-table.js';

const task = (id: string, v = 0) => ({ info: { taskId: id }, v }) as unknown as TaskRecord;
const ids = (ts: TaskRecord[]) => ts.map((t) => t.info.taskId);

function framework(name: string, completed: number, active: number): FrameworkRecord {
  const tasks = new TaskMap();
  for (let i = 0; i < active; i++) tasks.set(`${name}-a${i}`, task(`${name}-a${i}`));
  return {
    completed: Array.from({ length: completed }, (_, i) => task(`${name}-c${i}`)),
    tasks,
  } as unknown as FrameworkRecord;
}

const flat = (fws: FrameworkRecord[]) => fws.flatMap((f) => [...f.completed, ...f.tasks.values()]);

type Page = TaskRecord[] & { more?: boolean };

/** A table page: up to `n` tasks from `from`; the task that does not fit is not taken. */
function tablePage(fws: FrameworkRecord[], from: number, n: number): Page {
  const out: Page = [];
  out.more = !forEachTask(fws, from, (t) => (out.length < n ? out.push(t) > 0 : false));
  return out;
}

/** An object page: up to `n` tasks from `from`; the last one visited is taken. */
function objectPage(fws: FrameworkRecord[], from: number, n: number): Page {
  const out: Page = [];
  out.more = !forEachTask(fws, from, (t) => out.push(t) < n);
  return out;
}

let seed = 11;
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
};

describe('framework tasks read page by page', () => {
  it('give each page what counting every task from the start would, pages in order or not', () => {
    const fws = [framework('a', 3, 17), framework('b', 0, 9), framework('c', 5, 0), framework('d', 2, 12)];
    const all = ids(flat(fws));
    for (const read of [tablePage, objectPage]) {
      for (const n of [1, 4, 7, 50]) {
        const seen: string[] = [];
        for (let from = 0; ; ) {
          const p = read(fws, from, n);
          expect(ids(p)).toEqual(all.slice(from, from + n));
          seen.push(...ids(p));
          from += p.length;
          if (!p.more) break;
        }
        expect(seen).toEqual(all);
      }
      // Jumps, repeats and going back: each as if counted afresh.
      for (let k = 0; k < 200; k++) {
        const from = rand(all.length + 3);
        expect(ids(read(fws, from, 5))).toEqual(all.slice(from, from + 5));
      }
    }
  });

  it('show a reader every task that stays throughout once, while tasks come and go between pages', () => {
    for (const read of [tablePage, objectPage]) {
      for (let round = 0; round < 40; round++) {
        const fws = [framework('a', 0, 30), framework('b', 0, 30), framework('c', 0, 30)];
        const before = new Set(ids(flat(fws)));
        const gone = new Set<string>();
        let next = 0;
        const seen: string[] = [];
        for (let from = 0; ; ) {
          const p = read(fws, from, 1 + rand(8));
          seen.push(...ids(p));
          from += p.length;
          // As the master pages: on while a page filled before the tasks ran out (taskTablePage).
          if (!p.more || p.length === 0) break;
          // Between pages: tasks end anywhere, new ones start, some are replaced by a newer record.
          for (let k = rand(4); k > 0; k--) {
            const f = fws[rand(fws.length)];
            const keys = [...f.tasks.keys()];
            const op = rand(3);
            if (op === 0 && keys.length > 0) {
              const id = keys[rand(keys.length)];
              f.tasks.delete(id);
              gone.add(id);
            } else if (op === 1) f.tasks.set(`n${next}`, task(`n${next++}`));
            else if (keys.length > 0) {
              const id = keys[rand(keys.length)];
              f.tasks.set(id, task(id, 1));
            }
          }
        }
        expect(new Set(seen).size).toBe(seen.length);
        for (const id of before) if (!gone.has(id)) expect(seen).toContain(id);
      }
    }
  });
});
