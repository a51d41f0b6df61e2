import { describe, expect, it } from 'vitest';
import type { AgentRecord, FrameworkRecord, TaskRecord } from '../../actors/master/state.js';
import { TaskMap } from '../../actors/master/task-map.js';
import {
  forEachTask,
  releaseTable,
  restrictTaskTable,
  TaskTableBuilder,
  taskTablePage,
} from '../../actors/master/task-table.js';
import { agentTable } from '../../actors/master/task-table-agents.js';
import { agentView, taskView } from '../../actors/master/views.js';
import { decode, encode } from '../../bus/index.js';
import {
  AgentTable,
  decodeTaskTable,
  resources as R,
  Reason,
  TASK_TABLE_REASONS,
  TASK_TABLE_STATES,
  TaskInfo,
  TaskState,
  type TaskStatus,
  TaskTable,
  TaskTableError,
  type TaskTableWire,
} from '../../protocol/index.js';

const CPU = R.parseResources('cpus:0.1;mem:32');

function record(
  frameworkId: string,
  taskId: string,
  over: {
    agentId?: string;
    role?: string;
    status?: Partial<TaskStatus>;
    healthy?: boolean;
    argv?: string[];
  } = {},
): TaskRecord {
  const agentId = over.agentId ?? 'a-1';
  return {
    frameworkId,
    agentId,
    role: over.role ?? '*',
    info: TaskInfo.parse({
      taskId,
      name: `name-${taskId}`,
      resources: CPU,
      command: over.argv ? { shell: false, argv: over.argv } : { value: 'sleep 10' },
    }),
    status: {
      taskId,
      state: TaskState.RUNNING,
      source: 'SOURCE_AGENT',
      agentId,
      timestamp: 1000,
      ...over.status,
    },
    ...(over.healthy !== undefined ? { healthy: over.healthy } : {}),
  };
}

/** framework is enough of a FrameworkRecord for the task walk: completed tasks, then active ones. */
function framework(id: string, completed: number, active: number): FrameworkRecord {
  const done = Array.from({ length: completed }, (_, i) =>
    record(id, `${id}-done-${i}`, { status: { state: TaskState.FINISHED, exitCode: 0 } }),
  );
  const tasks = new TaskMap(
    Array.from({ length: active }, (_, i) => [`${id}-run-${i}`, record(id, `${id}-run-${i}`)] as const),
  );
  return { completed: done, tasks } as unknown as FrameworkRecord;
}

function tableOf(records: TaskRecord[]): TaskTableWire {
  const b = new TaskTableBuilder({ maxRows: records.length, maxBytes: Number.MAX_SAFE_INTEGER });
  for (const r of records) expect(b.add(r)).toBe(true);
  return b.build();
}

/** overTheWire packs a table as the bus does and validates it as a client does. */
const overTheWire = (t: TaskTableWire) => TaskTable.parse(decode(encode(t), Number.MAX_SAFE_INTEGER));

/** broken returns a copy of a table with some fields replaced (columns merged). */
function broken(t: TaskTableWire, over: Partial<Omit<TaskTableWire, 'columns'>>, columns = {}): unknown {
  return { ...t, ...over, columns: { ...t.columns, ...columns } };
}

const varied = (): TaskRecord[] => [
  record('fw-1', 't-plain'),
  record('fw-1', 't-argv', { argv: ['/bin/echo', 'a b', 'c'], role: 'eng/web' }),
  record('fw-2', 't-failed', {
    agentId: 'a-2',
    status: { state: TaskState.FAILED, reason: Reason.EXECUTOR_TERMINATED, message: 'boom', exitCode: -9 },
  }),
  record('fw-2', 't-healthy', { healthy: true, status: { healthy: false } }),
  record('fw-2', 't-unhealthy', { status: { healthy: false, state: TaskState.KILLING, timestamp: 1.5e12 } }),
  record('fw-1', 't-gone', {
    status: { state: TaskState.GONE_BY_OPERATOR, reason: Reason.AGENT_REMOVED_BY_OPERATOR },
  }),
];

describe('the task table builder', () => {
  it('gives back, row for row, the TaskView objects the master sends without a table', () => {
    const records = varied();
    const rows = overTheWire(tableOf(records));
    expect(rows.length).toBe(records.length);
    // toEqual: an optional field the object view holds as undefined is absent from a row.
    expect(rows.toArray()).toEqual(records.map(taskView));
    expect([...rows].map((t) => t.taskId)).toEqual(records.map((r) => r.info.taskId));
    expect([rows.taskId(2), rows.frameworkId(2), rows.agentId(2), rows.state(2)]).toEqual([
      't-failed',
      'fw-2',
      'a-2',
      TaskState.FAILED,
    ]);
    expect(rows.at(3).healthy).toBe(true); // the master's latest verdict beats the status's
    expect(rows.at(2).exitCode).toBe(-9);
    expect('exitCode' in rows.at(0)).toBe(false);
  });

  it('stores each distinct framework, agent, string and resource vector once', () => {
    const records = Array.from({ length: 1000 }, (_, i) =>
      record(`fw-${i % 3}`, `t-${i}`, { agentId: `a-${i % 10}` }),
    );
    const t = tableOf(records);
    expect(t.frameworks).toBe('fw-0\nfw-1\nfw-2');
    expect(t.agents.split('\n')).toHaveLength(10);
    expect(t.resources).toHaveLength(1);
    // 1000 names and one command line.
    expect(t.strings).toHaveLength(1001);
    // Index columns are as narrow as their dictionaries allow: 3 frameworks in 1 byte, 1001 strings in 2.
    expect(t.columns.framework.byteLength).toBe(1000);
    expect(t.columns.name.byteLength).toBe(2000);
    expect(t.columns.updatedAt.byteLength).toBe(8000);
  });

  it('uses 4-byte indexes past 65,536 dictionary entries and reads them back', () => {
    const records = Array.from({ length: 70_000 }, (_, i) => record('fw-1', `t-${i}`, { agentId: `a-${i}` }));
    const t = tableOf(records);
    expect(t.columns.agent.byteLength).toBe(4 * 70_000);
    const rows = overTheWire(t);
    expect(rows.agentId(69_999)).toBe('a-69999');
    expect(rows.at(65_537)).toEqual(taskView(records[65_537]));
  });

  it('refuses a row once the table is full, leaving no trace of it in the dictionaries', () => {
    const b = new TaskTableBuilder({ maxRows: 10, maxBytes: 150 });
    expect(b.add(record('fw-1', 't-first'))).toBe(true); // the first row always fits
    expect(b.add(record('fw-9', `t-${'x'.repeat(100)}`, { agentId: 'a-9' }))).toBe(false);
    const t = b.build();
    expect([t.rows, t.ids, t.frameworks, t.agents]).toEqual([1, 't-first', 'fw-1', 'a-1']);
    expect(overTheWire(t).length).toBe(1);
  });

  it('keeps a built table intact while it is not released, whatever is built after it', () => {
    const first = varied();
    const a = tableOf(first);
    const second = Array.from({ length: 300 }, (_, i) => record(`fw-${i}`, `u-${i}`, { agentId: `b-${i}` }));
    const b = tableOf(second);
    expect(overTheWire(a).toArray()).toEqual(first.map(taskView));
    expect(overTheWire(b).toArray()).toEqual(second.map(taskView));
    const builder = new TaskTableBuilder({ maxRows: 2, maxBytes: 1e6 });
    builder.add(first[0]);
    builder.build();
    expect(() => builder.add(first[1])).toThrow(/was built/);
  });

  it('lends a table its working buffers and reuses them once released, at every index width', () => {
    const rows = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => record(`fw-${i % 3}`, `${tag}-${i}`, { agentId: `a-${i}` }));
    // Whatever other tables were released before (a full pool, in a worker shared with other files).
    const fills = Array.from({ length: 5 }, (_, i) => tableOf(rows(25_000, `fill-${i}`)));
    for (const t of fills) releaseTable(t);
    const released = new Set<ArrayBufferLike>();
    // 3 frameworks make 1-byte indexes, 300 agents 2-byte ones, 70,000 agents 4-byte ones.
    for (const n of [3, 300, 70_000]) {
      const first = rows(n, 'x');
      const a = tableOf(first);
      const bytes = encode(a);
      released.add(a.columns.state.buffer);
      releaseTable(a);
      releaseTable(a); // a second release changes nothing
      const second = rows(n, 'y');
      const b = tableOf(second);
      // Released buffers were taken again, and the table encoded before holds what it had.
      expect(released.has(b.columns.state.buffer)).toBe(true);
      expect(TaskTable.parse(decode(bytes, Number.MAX_SAFE_INTEGER)).toArray()).toEqual(first.map(taskView));
      expect(overTheWire(b).toArray()).toEqual(second.map(taskView));
      // An unreleased table lends nothing: the next one has buffers of its own.
      const c = tableOf(rows(n, 'z'));
      expect(c.columns.state.buffer).not.toBe(b.columns.state.buffer);
      expect(overTheWire(b).toArray()).toEqual(second.map(taskView));
      released.add(b.columns.state.buffer);
      released.add(c.columns.state.buffer);
      releaseTable(b);
      releaseTable(c);
    }
    // Buffers for more rows than are kept in all (100,000) are not kept.
    const big = tableOf(rows(110_000, 'big'));
    const bigBuffer = big.columns.state.buffer;
    releaseTable(big);
    expect(tableOf(rows(110_000, 'again')).columns.state.buffer).not.toBe(bigBuffer);
  });

  it('restricts a table to some frameworks, naming nothing of the others', () => {
    const records = varied();
    const t = restrictTaskTable(tableOf(records), (id) => id === 'fw-2');
    expect(t.frameworks).toBe('fw-2');
    expect(t.agents).toBe('a-2\na-1');
    expect(t.strings.some((s) => s.includes('t-plain') || s.includes('echo'))).toBe(false);
    expect(overTheWire(t).toArray()).toEqual(records.filter((r) => r.frameworkId === 'fw-2').map(taskView));
  });

  it('has a code for every task state and every reason', () => {
    expect([...TASK_TABLE_STATES].sort()).toEqual(Object.values(TaskState).sort());
    expect([...TASK_TABLE_REASONS].sort()).toEqual(Object.values(Reason).sort());
    expect(TASK_TABLE_STATES.length).toBeLessThanOrEqual(256);
  });
});

describe('walking the tasks of a page', () => {
  const fws = [framework('f1', 3, 4), framework('f2', 0, 5), framework('f3', 2, 0), framework('f4', 1, 2)];
  const all: string[] = [];
  forEachTask(fws, 0, (t) => all.push(t.info.taskId) > 0);

  it('walks frameworks in order, terminal tasks first, then active ones', () => {
    expect(all.slice(0, 8)).toEqual([
      'f1-done-0',
      'f1-done-1',
      'f1-done-2',
      'f1-run-0',
      'f1-run-1',
      'f1-run-2',
      'f1-run-3',
      'f2-run-0',
    ]);
    expect(all).toHaveLength(17);
  });

  it.each([0, 1, 3, 6, 7, 11, 12, 13, 14, 16, 17, 30])('starts at position %i wherever it falls', (from) => {
    const seen: string[] = [];
    forEachTask(fws, from, (t) => seen.push(t.info.taskId) > 0);
    expect(seen).toEqual(all.slice(from));
  });

  it('pages the whole list as tables, every task once, with the next page named', () => {
    const seen: string[] = [];
    const starts: (number | undefined)[] = [];
    let from: number | undefined = 0;
    while (from !== undefined) {
      const page = taskTablePage(fws, from, { maxRows: 5, maxBytes: Number.MAX_SAFE_INTEGER });
      expect(page.totalTasks).toBe(17);
      seen.push(
        ...overTheWire(page.table)
          .toArray()
          .map((t) => t.taskId),
      );
      from = page.nextTasksFrom;
      starts.push(from);
    }
    expect(starts).toEqual([5, 10, 15, undefined]);
    expect(seen).toEqual(all);
  });

  it('ends a page early when it would outgrow its byte budget', () => {
    const page = taskTablePage(fws, 0, { maxRows: 100, maxBytes: 300 });
    expect(page.table.rows).toBeGreaterThan(0);
    expect(page.table.rows).toBeLessThan(17);
    expect(page.nextTasksFrom).toBe(page.table.rows);
    expect(encode(page.table).byteLength).toBeLessThan(600);
  });

  it('answers an empty page past the end', () => {
    const page = taskTablePage(fws, 40, { maxRows: 5, maxBytes: 1000 });
    expect([page.table.rows, page.nextTasksFrom, page.totalTasks]).toEqual([0, undefined, 17]);
    expect(overTheWire(page.table).length).toBe(0);
  });
});

describe('validating a task table', () => {
  const good = tableOf(varied());
  const parse = (t: unknown) => TaskTable.safeParse(decode(encode(t), Number.MAX_SAFE_INTEGER));
  const errorOf = (t: unknown) => {
    const r = parse(t);
    expect(r.success).toBe(false);
    return r.error?.issues.map((i) => i.message).join('; ') ?? '';
  };

  it('accepts the table the builder made', () => {
    expect(parse(good).success).toBe(true);
  });

  it('refuses a column of the wrong length, naming it and the expected size', () => {
    const short = good.columns.updatedAt.slice(0, 8 * 5);
    expect(errorOf(broken(good, {}, { updatedAt: short }))).toMatch(
      /columns\.updatedAt: 40 bytes for 6 rows .*expected 48/,
    );
    expect(errorOf(broken(good, {}, { state: new Uint8Array(7) }))).toMatch(
      /columns\.state: 7 bytes for 6 rows/,
    );
    expect(errorOf(broken(good, { rows: 7 }))).toMatch(/ids: 6 ids for 7 rows/);
  });

  it('refuses an index beyond its dictionary', () => {
    const agent = good.columns.agent.slice();
    agent[4] = good.agents.split('\n').length;
    expect(errorOf(broken(good, {}, { agent }))).toMatch(
      /columns\.agent: row 4 has index 2, beyond its 2 possible values/,
    );
    const role = good.columns.role.slice();
    role[0] = good.roles.length + 1;
    expect(errorOf(broken(good, {}, { role }))).toMatch(/columns\.role: row 0/);
  });

  it('refuses an unknown state or reason code', () => {
    const state = good.columns.state.slice();
    state[1] = 200;
    expect(errorOf(broken(good, {}, { state }))).toMatch(
      /columns\.state: row 1 has index 200, beyond its 14 possible values/,
    );
    const reason = good.columns.reason.slice();
    reason[0] = TASK_TABLE_REASONS.length + 1;
    expect(errorOf(broken(good, {}, { reason }))).toMatch(/columns\.reason: row 0/);
  });

  it('refuses ids that are not ids, and dictionaries that are not what they say', () => {
    const ids = good.ids.split('\n');
    expect(errorOf(broken(good, { ids: ['t.1', ...ids.slice(1)].join('\n') }))).toMatch(
      /ids\[0\] is not an id/,
    );
    expect(errorOf(broken(good, { ids: [...ids, 't-7'].join('\n') }))).toMatch(/ids: 7 ids for 6 rows/);
    expect(errorOf(broken(good, { ids: `${ids.join('\n')}\n` }))).toMatch(/ids: 7 ids for 6 rows/);
    expect(errorOf(broken(good, { agents: 'a-1\nbad agent' }))).toMatch(/agents\[1\] is not an id/);
    expect(errorOf(broken(good, { frameworks: 'fw-1' }))).toMatch(
      /columns\.framework: row 2 has index 1, beyond its 1 possible values/,
    );
    expect(errorOf(broken(good, { roles: ['no role!'] }))).toMatch(/role/);
    expect(errorOf(broken(good, { resources: [[{ name: 'cpus' }]] }))).toMatch(/scalar or ranges/);
    expect(errorOf(broken(good, { version: 2 } as never))).toMatch(/1/);
    expect(errorOf(broken(good, {}, { exitCode: 'zero' }))).toMatch(/must be bytes/);
  });

  it('refuses timestamps that are not finite and exit codes that are not integers', () => {
    const updatedAt = new Float64Array(6).fill(1);
    updatedAt[3] = Number.POSITIVE_INFINITY;
    const asBytes = (f: Float64Array) => new Uint8Array(f.buffer);
    expect(errorOf(broken(good, {}, { updatedAt: asBytes(updatedAt) }))).toMatch(
      /columns\.updatedAt: row 3 is not a finite/,
    );
    const exitCode = new Float64Array(6).fill(Number.NaN);
    exitCode[5] = 1.5;
    expect(errorOf(broken(good, {}, { exitCode: asBytes(exitCode) }))).toMatch(/columns\.exitCode: row 5/);
  });

  it('reports the problem as a TaskTableError when decoded directly', () => {
    const agent = good.columns.agent.slice();
    agent[0] = 9;
    expect(() => decodeTaskTable({ ...good, columns: { ...good.columns, agent } } as never)).toThrow(
      TaskTableError,
    );
  });

  it('refuses to materialize a row outside the table', () => {
    const rows = overTheWire(good);
    expect(() => rows.at(6)).toThrow(RangeError);
    expect(() => rows.at(-1)).toThrow(/outside the table's 6 rows/);
  });
});

describe('the agent table', () => {
  const agent = (i: number, over: Partial<AgentRecord> = {}): AgentRecord =>
    ({
      info: {
        id: `a-${i}`,
        hostname: `host-${i}.example`,
        resources: R.parseResources('cpus:8;mem:4096'),
        attributes: i % 2 ? { rack: `r${i % 3}`, zone: 'west' } : {},
        version: '0.1.0',
      },
      status: i === 3 ? 'UNREACHABLE' : 'ACTIVE',
      total: R.parseResources('cpus:8;mem:4096'),
      used: R.parseResources(i % 2 ? 'cpus:1;mem:32' : 'cpus:2;mem:64'),
      offered: [],
      registeredAt: 1000 + i,
      lastSeenAt: 2000 + i,
      tasks: new Map(Array.from({ length: i }, (_, k) => [`t-${k}`, {}])),
      ...over,
    }) as unknown as AgentRecord;
  const agents = Array.from({ length: 7 }, (_, i) => agent(i));
  const parse = (t: unknown) => AgentTable.safeParse(decode(encode(t), Number.MAX_SAFE_INTEGER));

  it('gives back the AgentView objects of the agents, with shared vectors and attribute sets stored once', () => {
    const t = agentTable(agents);
    expect(t.resources).toHaveLength(4); // one total, two kinds of used, the empty offered
    expect(t.resources.length + t.attributes.length).toBeLessThan(10);
    const r = parse(t);
    expect(r.success).toBe(true);
    expect(r.data?.toArray()).toEqual(agents.map(agentView));
    expect(r.data?.id(6)).toBe('a-6');
  });

  it('refuses a bad column, index or status with a clear error', () => {
    const t = agentTable(agents);
    const errorOf = (columns: object, over: object = {}) => {
      const r = parse({ ...t, ...over, columns: { ...t.columns, ...columns } });
      expect(r.success).toBe(false);
      return r.error?.issues.map((i) => i.message).join('; ');
    };
    expect(errorOf({ tasks: new Uint8Array(7) })).toMatch(
      /agents columns\.tasks: 7 bytes for 7 rows of 4-byte/,
    );
    const status = t.columns.status.slice();
    status[2] = 3;
    expect(errorOf({ status })).toMatch(
      /agents columns\.status: row 2 has index 3, beyond its 3 possible values/,
    );
    const used = t.columns.used.slice();
    used[0] = 9;
    expect(errorOf({ used })).toMatch(/agents columns\.used: row 0/);
    expect(errorOf({}, { hostnames: ['h'] })).toMatch(/hostnames: 1 for 7 rows/);
    expect(errorOf({}, { ids: ['a 1', ...t.ids.split('\n').slice(1)].join('\n') })).toMatch(
      /agents ids\[0\] is not an id/,
    );
    expect(errorOf({}, { ids: t.ids.split('\n').slice(1).join('\n') })).toMatch(
      /agents ids: 6 ids for 7 rows/,
    );
    const lastSeenAt = new Uint8Array(new Float64Array(7).fill(Number.NaN).buffer);
    expect(errorOf({ lastSeenAt })).toMatch(/row 0 is not a finite number/);
  });
});
