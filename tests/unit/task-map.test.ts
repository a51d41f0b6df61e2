import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../actors/master/state.js';
import { TaskMap } from '../../actors/master/task-map.js';

const task = (id: string, v = 0) => ({ info: { taskId: id }, v }) as unknown as TaskRecord;
const ids = (ts: TaskRecord[]) => ts.map((t) => t.info.taskId);

/** page reads up to `n` tasks from `from`, as a table page does: the task that does not fit is not taken. */
function page(m: TaskMap, from: number, n: number): TaskRecord[] {
  const out: TaskRecord[] = [];
  m.visitFrom(from, (t) => (out.length < n ? out.push(t) > 0 : false));
  return out;
}

/** pageTaking reads up to `n` tasks from `from`, as an object page does: the last one visited is taken. */
function pageTaking(m: TaskMap, from: number, n: number): TaskRecord[] {
  const out: TaskRecord[] = [];
  m.visitFrom(from, (t) => out.push(t) < n);
  return out;
}

describe('a framework task map read page by page', () => {
  it('gives each page what stepping over the tasks from the start would', () => {
    const m = new TaskMap();
    for (let i = 0; i < 23; i++) m.set(`t${i}`, task(`t${i}`));
    const all = ids([...m.values()]);
    for (const read of [page, pageTaking]) {
      const seen: string[] = [];
      for (let from = 0; from < m.size; ) {
        const p = read(m, from, 5);
        expect(ids(p)).toEqual(all.slice(from, from + 5));
        seen.push(...ids(p));
        from += p.length;
      }
      expect(seen).toEqual(all);
    }
  });

  it('stays right when tasks are added, replaced and deleted between pages, and for jumps', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const m = new TaskMap();
    let next = 0;
    for (; next < 40; next++) m.set(`t${next}`, task(`t${next}`));
    let from = 0;
    for (let step = 0; step < 2000; step++) {
      const op = rand(10);
      const keys = [...m.keys()];
      if (op === 0) m.set(`t${next}`, task(`t${next++}`));
      else if (op === 1 && keys.length > 0) m.delete(keys[rand(keys.length)]);
      else if (op === 2 && keys.length > 0) {
        const k = keys[rand(keys.length)];
        m.set(k, task(k, step));
      } else if (op === 3) from = rand(m.size + 2);
      const expected = [...m.values()].slice(from, from + 4);
      const got = (op % 2 === 0 ? page : pageTaking)(m, from, 4);
      expect(got).toEqual(expected);
      from = got.length === 4 && from + 4 < m.size ? from + 4 : 0;
    }
  });

  it('is a Map for everyone else, deletions and all', () => {
    const m = new TaskMap();
    m.set('a', task('a'));
    m.set('b', task('b'));
    expect(m.delete('a')).toBe(true);
    expect(m.delete('a')).toBe(false);
    expect([...m.keys()]).toEqual(['b']);
    m.clear();
    expect(m.size).toBe(0);
    expect(m).toBeInstanceOf(Map);
  });
});
