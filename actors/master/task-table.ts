import {
  decodeTaskTable,
  HealthCode,
  indexWidth,
  packFloats,
  packIndexes,
  type Reason,
  type Resources,
  TASK_TABLE_REASONS,
  TASK_TABLE_STATES,
  TASK_TABLE_VERSION,
  type TaskState,
  type TaskTableWire,
  type TaskView,
} from '../../protocol/index.js';
import type { FrameworkRecord, TaskRecord } from './state.js';

/**
 * forEachTask calls `visit` on the tasks from position `from` (in the order of the whole answer:
 * framework by framework, terminal tasks oldest first, then active ones) until it returns false
 * (then false) or the tasks run out (then true). Frameworks before `from` are skipped by their
 * size, and no framework's tasks are copied. A page that starts where the last one stopped in a
 * framework's active tasks goes on from there (TaskMap), then takes every later framework whole.
 */
export function forEachTask(
  frameworks: Iterable<FrameworkRecord>,
  from: number,
  visit: (t: TaskRecord) => boolean,
): boolean {
  let at = 0;
  let started = false;
  // Positions as this page counts them: the first task visited is at `from`.
  let visited = 0;
  const counted = (t: TaskRecord) => {
    if (!visit(t)) return false;
    visited++;
    return true;
  };
  // A page that starts where the last one stopped goes on there, wherever positions moved since.
  let resume: FrameworkRecord | undefined;
  for (const f of frameworks) if (f.tasks.resumes(from)) resume = f;
  for (const f of frameworks) {
    const size = f.completed.length + f.tasks.size;
    if (resume !== undefined && !started) {
      if (f !== resume) continue;
      started = true;
      if (!f.tasks.visitFrom(from, undefined, counted)) return false;
      continue;
    }
    if (!started && at + size <= from) {
      at += size;
      continue;
    }
    const skip = started ? 0 : from - at;
    started = true;
    for (let i = skip; i < f.completed.length; i++) {
      if (!counted(f.completed[i])) return false;
    }
    const active = Math.max(0, skip - f.completed.length);
    if (!f.tasks.visitFrom(from + visited, active, counted)) return false;
    at += size;
  }
  return true;
}

/** commandText is a task's command as one line: the shell line, or the argv joined by spaces. */
export function commandText(t: TaskRecord): string {
  const c = t.info.command;
  return c.shell ? (c.value ?? '') : (c.argv ?? []).join(' ');
}

/** resourcesKey is a resource vector's dictionary key: equal vectors, equal keys. */
function resourcesKey(r: Resources): string {
  let key = '';
  for (const x of r) key += `${x.name}(${x.role ?? '*'}):${x.scalar ?? JSON.stringify(x.ranges)};`;
  return key;
}

/** sameScalars tells two resource vectors of scalars apart cheaply (ranges: not the same, to be safe). */
function sameScalars(a: Resources, b: Resources): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.name !== y.name || x.scalar !== y.scalar || x.role !== y.role || x.ranges || y.ranges) return false;
  }
  return true;
}

const STATE_CODE = new Map(TASK_TABLE_STATES.map((s, i) => [s, i]));
const REASON_CODE = new Map(TASK_TABLE_REASONS.map((r, i) => [r, i + 1]));

/** Bytes one row takes besides its id and new dictionary entries (worst-case index widths). */
const ROW_BYTES = 7 * 4 + 3 + 2 * 8 + 2;

/** TableLimits bound one table: at most `maxRows` rows and about `maxBytes` encoded bytes. */
export interface TableLimits {
  maxRows: number;
  maxBytes: number;
}

/**
 * TaskTableBuilder collects task records into a TaskTable (protocol/messages/task-table.ts):
 * dictionaries are filled as rows come, and `add` says no once the table is full.
 */
export class TaskTableBuilder {
  private n = 0;
  private bytes = 0;
  private readonly ids: string[] = [];
  private readonly dicts = {
    frameworks: new Dictionary(),
    agents: new Dictionary(),
    roles: new Dictionary(),
    strings: new Dictionary(),
    resources: new ResourceDictionary(),
  };
  private readonly framework: Uint32Array;
  private readonly agent: Uint32Array;
  private readonly name: Uint32Array;
  private readonly command: Uint32Array;
  private readonly role: Uint32Array;
  private readonly message: Uint32Array;
  private readonly resources: Uint32Array;
  private readonly state: Uint8Array;
  private readonly reason: Uint8Array;
  private readonly healthy: Uint8Array;
  private readonly exitCode: Float64Array;
  private readonly updatedAt: Float64Array;

  private readonly scratch: Scratch;
  private built = false;

  constructor(private readonly limits: TableLimits) {
    this.scratch = Scratch.take(limits.maxRows);
    ({
      framework: this.framework,
      agent: this.agent,
      name: this.name,
      command: this.command,
      role: this.role,
      message: this.message,
      resources: this.resources,
      state: this.state,
      reason: this.reason,
      healthy: this.healthy,
      exitCode: this.exitCode,
      updatedAt: this.updatedAt,
    } = this.scratch);
  }

  /** rows is how many rows the table holds. */
  get rows(): number {
    return this.n;
  }

  /**
   * add appends a task's row and returns true, or returns false and changes nothing when the
   * table is full (a table always takes its first row, whatever its size).
   */
  add(t: TaskRecord): boolean {
    const s = t.status;
    return this.addRow(
      t.info.taskId,
      t.frameworkId,
      t.agentId,
      t.role,
      t.info.name,
      commandText(t),
      s.message,
      t.info.resources,
      s.state,
      s.reason,
      t.healthy ?? s.healthy,
      s.exitCode,
      s.timestamp,
    );
  }

  /** addView is add for a task as operators see it (a row read back from a table). */
  addView(v: TaskView): boolean {
    return this.addRow(
      v.taskId,
      v.frameworkId,
      v.agentId,
      v.role,
      v.name,
      v.command,
      v.message,
      v.resources,
      v.state,
      v.reason,
      v.healthy,
      v.exitCode,
      v.updatedAt,
    );
  }

  private addRow(
    id: string,
    frameworkId: string,
    agentId: string,
    role: string | undefined,
    name: string,
    command: string,
    message: string | undefined,
    resources: Resources,
    state: TaskState,
    reason: Reason | undefined,
    healthy: boolean | undefined,
    exitCode: number | undefined,
    updatedAt: number,
  ): boolean {
    const i = this.n;
    if (this.built) throw new Error('the task table was built: it takes no more rows');
    if (i >= this.limits.maxRows) return false;
    const d = this.dicts;
    const before = d.frameworks.bytes + d.agents.bytes + d.roles.bytes + d.strings.bytes + d.resources.bytes;
    // Where each dictionary stood before the row, in locals (no array per row: 405,000 rows a read).
    const m0 = d.frameworks.size;
    const m1 = d.agents.size;
    const m2 = d.roles.size;
    const m3 = d.strings.size;
    const m4 = d.resources.size;
    this.framework[i] = d.frameworks.code(frameworkId, frameworkId);
    this.agent[i] = d.agents.code(agentId, agentId);
    this.name[i] = d.strings.code(name, name);
    this.command[i] = d.strings.code(command, command);
    this.role[i] = role ? d.roles.code(role, role) + 1 : 0;
    this.message[i] = message === undefined ? 0 : d.strings.code(message, message) + 1;
    this.resources[i] = d.resources.code(resources);
    const after = d.frameworks.bytes + d.agents.bytes + d.roles.bytes + d.strings.bytes + d.resources.bytes;
    const grow = ROW_BYTES + id.length + after - before;
    if (i > 0 && this.bytes + grow > this.limits.maxBytes) {
      // The row does not fit: what it added to the dictionaries goes too.
      d.frameworks.truncate(m0);
      d.agents.truncate(m1);
      d.roles.truncate(m2);
      d.strings.truncate(m3);
      d.resources.truncate(m4);
      return false;
    }
    this.bytes += grow;
    this.ids.push(id);
    this.state[i] = STATE_CODE.get(state) ?? 0;
    this.reason[i] = reason ? (REASON_CODE.get(reason) ?? 0) : 0;
    this.healthy[i] =
      healthy === undefined ? HealthCode.NONE : healthy ? HealthCode.HEALTHY : HealthCode.UNHEALTHY;
    this.exitCode[i] = exitCode ?? Number.NaN;
    this.updatedAt[i] = updatedAt;
    this.n++;
    return true;
  }

  /**
   * build packs what was added into a wire TaskTable. Its columns are views of the builder's
   * working buffers, which are lent to the table: nothing is copied, and the buffers go back to
   * be reused only through `releaseTable`, once the table has been encoded. A table never
   * released keeps them (and is never changed).
   */
  build(): TaskTableWire {
    const n = this.n;
    const d = this.dicts;
    const sc = this.scratch;
    const table: TaskTableWire = {
      version: TASK_TABLE_VERSION,
      rows: n,
      ids: this.ids.join('\n'),
      frameworks: d.frameworks.values.join('\n'),
      agents: d.agents.values.join('\n'),
      roles: d.roles.values,
      strings: d.strings.values,
      resources: d.resources.values,
      columns: {
        framework: sc.indexes(0, this.framework, n, d.frameworks.values.length),
        agent: sc.indexes(1, this.agent, n, d.agents.values.length),
        name: sc.indexes(2, this.name, n, d.strings.values.length),
        command: sc.indexes(3, this.command, n, d.strings.values.length),
        role: sc.indexes(4, this.role, n, d.roles.values.length + 1),
        message: sc.indexes(5, this.message, n, d.strings.values.length + 1),
        resources: sc.indexes(6, this.resources, n, d.resources.values.length),
        state: this.state.subarray(0, n),
        reason: this.reason.subarray(0, n),
        healthy: this.healthy.subarray(0, n),
        exitCode: packFloats(this.exitCode.subarray(0, n)),
        updatedAt: packFloats(this.updatedAt.subarray(0, n)),
      },
    };
    this.built = true;
    LENT.set(table, sc);
    return table;
  }
}

/** The working buffers each built table holds until released. */
const LENT = new WeakMap<object, Scratch>();

/**
 * releaseTable gives back the working buffers a table built here holds, to be reused by the next
 * builder: call it once the table has been encoded and nothing reads it any more (its columns
 * change with the next table). Anything else is ignored.
 */
export function releaseTable(table: unknown): void {
  if (typeof table !== 'object' || table === null) return;
  const sc = LENT.get(table);
  if (!sc) return;
  LENT.delete(table);
  sc.release();
}

/**
 * Scratch is a builder's working columns and the bytes its narrowed index columns are packed
 * into. A few sets are kept and lent to the next builders, so that building page after page of a
 * large state allocates no array buffers: outside the JS heap, they count towards the collector's
 * external memory, and a large master's GET_STATE reads, at 10 MB of columns each, set off full
 * mark-compacts for "external memory pressure" while they ran.
 */
class Scratch {
  /** Kept for reuse: two pages may be built before the first is sent, and a restricted view adds one. */
  private static readonly spares: Scratch[] = [];
  private static readonly KEEP = 4;
  /** At most this many rows kept in all (about 6 MB): a set for a larger page is dropped after use. */
  private static readonly KEEP_ROWS = 100_000;
  readonly framework: Uint32Array;
  readonly agent: Uint32Array;
  readonly name: Uint32Array;
  readonly command: Uint32Array;
  readonly role: Uint32Array;
  readonly message: Uint32Array;
  readonly resources: Uint32Array;
  readonly state: Uint8Array;
  readonly reason: Uint8Array;
  readonly healthy: Uint8Array;
  readonly exitCode: Float64Array;
  readonly updatedAt: Float64Array;
  /** Room for the seven index columns narrowed to 1 or 2 bytes (4-byte ones are their own bytes). */
  private readonly narrowed: ArrayBuffer;

  private constructor(readonly capacity: number) {
    this.framework = new Uint32Array(capacity);
    this.agent = new Uint32Array(capacity);
    this.name = new Uint32Array(capacity);
    this.command = new Uint32Array(capacity);
    this.role = new Uint32Array(capacity);
    this.message = new Uint32Array(capacity);
    this.resources = new Uint32Array(capacity);
    this.state = new Uint8Array(capacity);
    this.reason = new Uint8Array(capacity);
    this.healthy = new Uint8Array(capacity);
    this.exitCode = new Float64Array(capacity);
    this.updatedAt = new Float64Array(capacity);
    this.narrowed = new ArrayBuffer(capacity * 2 * 7);
  }

  /** take lends the most recently kept set large enough, else makes a new one. */
  static take(rows: number): Scratch {
    const spares = Scratch.spares;
    for (let i = spares.length - 1; i >= 0; i--) {
      if (spares[i].capacity >= rows) return spares.splice(i, 1)[0];
    }
    return new Scratch(rows);
  }

  /**
   * release gives the set back. The most recent sets are kept: the oldest go while more than
   * KEEP sets, or more than KEEP_ROWS rows in all, are kept (a set larger than that is not kept).
   */
  release(): void {
    const spares = Scratch.spares;
    spares.push(this);
    let kept = 0;
    for (const s of spares) kept += s.capacity;
    while (spares.length > 0 && (spares.length > Scratch.KEEP || kept > Scratch.KEEP_ROWS))
      kept -= (spares.shift() as Scratch).capacity;
  }

  /**
   * indexes packs the first n values of a working index column as the table's little-endian
   * bytes of the width `codes` values need, in slot `slot` of the narrowed room (no copy at
   * width 4 on a little-endian machine).
   */
  indexes(slot: number, col: Uint32Array, n: number, codes: number): Uint8Array {
    const width = indexWidth(codes);
    if (!LITTLE_ENDIAN) return packIndexes(col.slice(0, n), codes);
    if (width === 4) return new Uint8Array(col.buffer, col.byteOffset, n * 4);
    const at = slot * this.capacity * 2;
    const values = col.subarray(0, n);
    if (width === 1) {
      const out = new Uint8Array(this.narrowed, at, n);
      out.set(values);
      return out;
    }
    const out = new Uint16Array(this.narrowed, at, n);
    out.set(values);
    return new Uint8Array(this.narrowed, at, n * 2);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Dictionary numbers distinct strings in the order they are first seen, and counts their bytes. */
export class Dictionary {
  readonly values: string[] = [];
  /** About how many bytes the entries take encoded (UTF-8 at worst, and a header). */
  bytes = 0;
  private readonly codes = new Map<string, number>();
  private lastKey: string | undefined;
  private lastCode = 0;

  get size(): number {
    return this.values.length;
  }

  code(key: string, value: string): number {
    // Neighbouring rows often repeat a value (a framework's tasks come together).
    if (key === this.lastKey) return this.lastCode;
    let code = this.codes.get(key);
    if (code === undefined) {
      code = this.values.length;
      this.values.push(value);
      this.codes.set(key, code);
      this.bytes += value.length * 3 + 5;
    }
    this.lastKey = key;
    this.lastCode = code;
    return code;
  }

  /** truncate forgets the entries from `size` on. */
  truncate(size: number): void {
    for (const v of this.values.splice(size)) {
      this.codes.delete(v);
      this.bytes -= v.length * 3 + 5;
    }
    this.lastKey = undefined;
  }
}

/**
 * ResourceDictionary numbers distinct resource vectors; a repeat of the last one (of the same
 * `slot`, for callers that look up several columns in turn) costs a comparison.
 */
export class ResourceDictionary {
  readonly values: Resources[] = [];
  bytes = 0;
  private readonly keys: string[] = [];
  private readonly codes = new Map<string, number>();
  private readonly last: (Resources | undefined)[] = [];
  private readonly lastCode: number[] = [];

  get size(): number {
    return this.values.length;
  }

  code(r: Resources, slot = 0): number {
    const last = this.last[slot];
    if (last && sameScalars(last, r)) return this.lastCode[slot];
    const key = resourcesKey(r);
    let code = this.codes.get(key);
    if (code === undefined) {
      code = this.values.length;
      this.values.push(r);
      this.keys.push(key);
      this.codes.set(key, code);
      this.bytes += key.length * 2;
    }
    this.last[slot] = r;
    this.lastCode[slot] = code;
    return code;
  }

  truncate(size: number): void {
    this.values.splice(size);
    for (const k of this.keys.splice(size)) {
      this.codes.delete(k);
      this.bytes -= k.length * 2;
    }
    this.last.length = 0;
  }
}

/** TablePage is one page of tasks as a table, and where the next page starts. */
export interface TablePage {
  table: TaskTableWire;
  totalTasks: number;
  nextTasksFrom?: number;
}

/**
 * taskTablePage builds the table of the tasks from position `from`, as many as `limits` allow,
 * in the order forEachTask walks them.
 */
export function taskTablePage(
  frameworks: readonly FrameworkRecord[],
  from: number,
  limits: TableLimits,
): TablePage {
  const total = frameworks.reduce((n, f) => n + f.completed.length + f.tasks.size, 0);
  const builder = new TaskTableBuilder({
    // No more rows than are left, nor than the byte budget could hold (each costs ROW_BYTES and
    // more); at least one, for a reader that tasks ended behind has more left than the count says.
    maxRows: Math.max(
      Math.min(limits.maxRows, 1),
      Math.min(limits.maxRows, total - from, Math.floor(limits.maxBytes / ROW_BYTES) + 1),
    ),
    maxBytes: limits.maxBytes,
  });
  // More to come when the page filled before the tasks ran out: not `end < total`, since a reader
  // that tasks ended behind goes on where it was (TaskMap) past what a count from the start says.
  const more = forEachTask(frameworks, from, (t) => builder.add(t)) === false;
  const end = from + builder.rows;
  return {
    table: builder.build(),
    totalTasks: total,
    ...(more && builder.rows > 0 ? { nextTasksFrom: end } : {}),
  };
}

/**
 * restrictTaskTable keeps the rows of the frameworks `keep` accepts, in a table of their own: the
 * dictionaries are rebuilt, so nothing of the other frameworks' tasks is left in it.
 */
export function restrictTaskTable(
  wire: TaskTableWire,
  keep: (frameworkId: string) => boolean,
): TaskTableWire {
  const rows = decodeTaskTable(wire);
  const builder = new TaskTableBuilder({ maxRows: rows.length, maxBytes: Number.MAX_SAFE_INTEGER });
  for (let i = 0; i < rows.length; i++) if (keep(rows.frameworkId(i))) builder.addView(rows.at(i));
  return builder.build();
}
