import { z } from 'zod';
import { ID_PATTERN, RoleName } from '../ids.js';
import { Resources } from '../resources.js';
import { Reason, TaskState } from '../task-state.js';
import type { TaskView } from './operator.js';

/**
 * The task table is GET_STATE's and GET_TASKS's compact answer (`tasksAs: 'table'`): the same
 * rows as TaskView objects, stored as columns. Repeated values (framework, agent, name, command,
 * role, message, resources) are indexes into small dictionaries, and numbers are little-endian
 * bytes, so a page of 100,000 tasks packs, travels, unpacks and validates in tens of milliseconds
 * where as many objects take seconds. Format and rules: protocol/README.md, "Task table".
 */
export const TASK_TABLE_VERSION = 1;

/** TASK_TABLE_STATES fixes the `state` column's codes; append only (a new state takes the next code). */
export const TASK_TABLE_STATES: readonly TaskState[] = [
  TaskState.STAGING,
  TaskState.STARTING,
  TaskState.RUNNING,
  TaskState.KILLING,
  TaskState.FINISHED,
  TaskState.FAILED,
  TaskState.KILLED,
  TaskState.ERROR,
  TaskState.LOST,
  TaskState.DROPPED,
  TaskState.UNREACHABLE,
  TaskState.GONE,
  TaskState.GONE_BY_OPERATOR,
  TaskState.UNKNOWN,
];

/** TASK_TABLE_REASONS fixes the `reason` column's codes (code k + 1; 0 is no reason); append only. */
export const TASK_TABLE_REASONS: readonly Reason[] = [
  Reason.COMMAND_EXECUTOR_FAILED,
  Reason.CONTAINER_LAUNCH_FAILED,
  Reason.CONTAINER_LIMITATION_MEMORY,
  Reason.EXECUTOR_TERMINATED,
  Reason.FRAMEWORK_REMOVED,
  Reason.AGENT_REMOVED,
  Reason.AGENT_REMOVED_BY_OPERATOR,
  Reason.AGENT_UNREACHABLE,
  Reason.AGENT_RESTARTED,
  Reason.AGENT_UNKNOWN,
  Reason.INVALID_OFFERS,
  Reason.RECONCILIATION,
  Reason.TASK_INVALID,
  Reason.TASK_HEALTH_CHECK_STATUS_UPDATED,
  Reason.TASK_KILLED_DURING_LAUNCH,
  Reason.TASK_UNKNOWN,
  Reason.TASK_UNAUTHORIZED,
  Reason.RESOURCES_UNKNOWN,
];

/** Healthy codes of the `healthy` column. */
export const HealthCode = { NONE: 0, UNHEALTHY: 1, HEALTHY: 2 } as const;

/** IndexWidth is how many bytes one index of a dictionary column takes. */
export type IndexWidth = 1 | 2 | 4;

/**
 * indexWidth is the width of a column that indexes `codes` values (a dictionary's length, plus
 * one for an optional column's 0): 1 byte up to 256 codes, 2 up to 65,536, else 4.
 */
export function indexWidth(codes: number): IndexWidth {
  return codes <= 0x100 ? 1 : codes <= 0x10000 ? 2 : 4;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** packIndexes narrows indexes to the width their dictionary needs, as little-endian bytes. */
export function packIndexes(values: Uint32Array, codes: number): Uint8Array {
  const width = indexWidth(codes);
  // The typed-array constructors copy and narrow natively (`from` iterates).
  if (width === 1) return new Uint8Array(values);
  if (!LITTLE_ENDIAN) return packViaDataView(values, width);
  const narrow = width === 2 ? new Uint16Array(values) : values;
  return new Uint8Array(narrow.buffer, narrow.byteOffset, narrow.byteLength);
}

/** packFloats turns a float column into little-endian bytes. */
export function packFloats(values: Float64Array): Uint8Array {
  if (!LITTLE_ENDIAN) {
    const out = new DataView(new ArrayBuffer(values.length * 8));
    for (let i = 0; i < values.length; i++) out.setFloat64(i * 8, values[i], true);
    return new Uint8Array(out.buffer);
  }
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function packViaDataView(values: Uint32Array, width: 2 | 4): Uint8Array {
  const out = new DataView(new ArrayBuffer(values.length * width));
  for (let i = 0; i < values.length; i++) {
    if (width === 2) out.setUint16(i * 2, values[i], true);
    else out.setUint32(i * 4, values[i], true);
  }
  return new Uint8Array(out.buffer);
}

/** IndexArray is a column of dictionary indexes as read. */
export type IndexArray = Uint8Array | Uint16Array | Uint32Array;

/** readIndexes views little-endian index bytes as a typed array (copied once when unaligned). */
function readIndexes(bytes: Uint8Array, width: IndexWidth): IndexArray {
  if (width === 1) return bytes;
  const rows = bytes.byteLength / width;
  if (!LITTLE_ENDIAN) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = width === 2 ? new Uint16Array(rows) : new Uint32Array(rows);
    for (let i = 0; i < rows; i++)
      out[i] = width === 2 ? view.getUint16(i * 2, true) : view.getUint32(i * 4, true);
    return out;
  }
  const aligned = bytes.byteOffset % width === 0 ? bytes : new Uint8Array(bytes); // a copy (Buffer#slice would not be)
  return width === 2
    ? new Uint16Array(aligned.buffer, aligned.byteOffset, rows)
    : new Uint32Array(aligned.buffer, aligned.byteOffset, rows);
}

function readFloats(bytes: Uint8Array): Float64Array {
  const rows = bytes.byteLength / 8;
  if (!LITTLE_ENDIAN) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Float64Array.from({ length: rows }, (_, i) => view.getFloat64(i * 8, true));
  }
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
  return new Float64Array(aligned.buffer, aligned.byteOffset, rows);
}

const Bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'must be bytes' });

/** TaskTableColumns are the table's columns, one value per row each. */
const TaskTableColumns = z.object({
  /** Index into `frameworks`. */
  framework: Bytes,
  /** Index into `agents`. */
  agent: Bytes,
  /** Index into `strings`. */
  name: Bytes,
  /** Index into `strings`. */
  command: Bytes,
  /** 0: none; k + 1: `roles[k]`. */
  role: Bytes,
  /** 0: none; k + 1: `strings[k]`. */
  message: Bytes,
  /** Index into `resources`. */
  resources: Bytes,
  /** One byte: code into TASK_TABLE_STATES. */
  state: Bytes,
  /** One byte: 0 none; k + 1: TASK_TABLE_REASONS[k]. */
  reason: Bytes,
  /** One byte: HealthCode. */
  healthy: Bytes,
  /** float64 each; NaN when the task has no exit code. */
  exitCode: Bytes,
  /** float64 each: when the task's latest status was produced (ms since the epoch). */
  updatedAt: Bytes,
});

/** TaskTableWire is the task table as it travels (what the master builds). */
export const TaskTableWire = z.object({
  version: z.literal(TASK_TABLE_VERSION),
  rows: z.number().int().nonnegative(),
  /** The task ids, one per row, joined by newlines (one string packs and unpacks at once). */
  ids: z.string(),
  /** Framework and agent ids, each once, joined by newlines like `ids`. */
  frameworks: z.string(),
  agents: z.string(),
  roles: z.array(RoleName),
  /** Names, commands and messages. */
  strings: z.array(z.string()),
  resources: z.array(Resources),
  columns: TaskTableColumns,
});
export type TaskTableWire = z.input<typeof TaskTableWire>;

/** TaskTableError says what is wrong with a task table, naming the column and row. */
export class TaskTableError extends Error {
  override name = 'TaskTableError';
}

interface DecodedColumns {
  framework: IndexArray;
  agent: IndexArray;
  name: IndexArray;
  command: IndexArray;
  role: IndexArray;
  message: IndexArray;
  resources: IndexArray;
  state: Uint8Array;
  reason: Uint8Array;
  healthy: Uint8Array;
  exitCode: Float64Array;
  updatedAt: Float64Array;
}

/** TableRows are the rows of a validated table, each made into its view object on demand by `at(i)`. */
export abstract class TableRows<T> implements Iterable<T> {
  constructor(readonly length: number) {}

  abstract at(i: number): T;

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  /** toArray makes every row's view. */
  toArray(): T[] {
    const out = new Array<T>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.at(i);
    return out;
  }
}

/**
 * TaskRows are the validated rows of one task table. Columns are read where they lie; `at(i)`
 * materializes a TaskView on demand (its `resources` are shared with the rows that use the same
 * vector: treat them as read-only).
 */
export class TaskRows extends TableRows<TaskView> {
  constructor(
    private readonly wire: Omit<
      z.output<typeof TaskTableWire>,
      'columns' | 'ids' | 'frameworks' | 'agents'
    > & {
      ids: string[];
      frameworks: string[];
      agents: string[];
    },
    private readonly c: DecodedColumns,
  ) {
    super(wire.rows);
  }

  /** taskId of row i. */
  taskId(i: number): string {
    return this.wire.ids[i];
  }

  /** frameworkId of row i. */
  frameworkId(i: number): string {
    return this.wire.frameworks[this.c.framework[i]];
  }

  /** agentId of row i. */
  agentId(i: number): string {
    return this.wire.agents[this.c.agent[i]];
  }

  /** state of row i. */
  state(i: number): TaskState {
    return TASK_TABLE_STATES[this.c.state[i]];
  }

  /** at materializes row i as a TaskView; absent optional fields are left out. */
  at(i: number): TaskView {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`row ${i} is outside the table's ${this.length} rows`);
    }
    const { wire: w, c } = this;
    const view: TaskView = {
      taskId: w.ids[i],
      frameworkId: w.frameworks[c.framework[i]],
      agentId: w.agents[c.agent[i]],
      name: w.strings[c.name[i]],
      state: TASK_TABLE_STATES[c.state[i]],
      resources: w.resources[c.resources[i]],
      command: w.strings[c.command[i]],
      updatedAt: c.updatedAt[i],
    };
    if (c.role[i] !== 0) view.role = w.roles[c.role[i] - 1];
    if (c.reason[i] !== 0) view.reason = TASK_TABLE_REASONS[c.reason[i] - 1];
    if (c.message[i] !== 0) view.message = w.strings[c.message[i] - 1];
    if (!Number.isNaN(c.exitCode[i])) view.exitCode = c.exitCode[i];
    if (c.healthy[i] !== HealthCode.NONE) view.healthy = c.healthy[i] === HealthCode.HEALTHY;
    return view;
  }
}

/**
 * decodeTaskTable checks a parsed wire table completely and returns its rows: every column holds
 * rows × width bytes, every index lies within its dictionary, every code within its enum, every
 * id is an id, timestamps are finite and exit codes integers. Throws TaskTableError.
 */
export function decodeTaskTable(t: z.output<typeof TaskTableWire>): TaskRows {
  const n = t.rows;
  const ids = splitIds(t.ids);
  if (ids.length !== n) throw new TaskTableError(`ids: ${ids.length} ids for ${n} rows`);
  checkIds('ids', ids);
  const frameworks = splitIds(t.frameworks);
  checkIds('frameworks', frameworks);
  const agents = splitIds(t.agents);
  checkIds('agents', agents);
  const col = t.columns;
  const indexes = (name: keyof typeof col, entries: number, optional: boolean): IndexArray =>
    indexColumn(`columns.${name}`, col[name], n, entries + (optional ? 1 : 0));
  const floats = (name: 'exitCode' | 'updatedAt'): Float64Array =>
    floatColumn(`columns.${name}`, col[name], n);
  const c: DecodedColumns = {
    framework: indexes('framework', frameworks.length, false),
    agent: indexes('agent', agents.length, false),
    name: indexes('name', t.strings.length, false),
    command: indexes('command', t.strings.length, false),
    role: indexes('role', t.roles.length, true),
    message: indexes('message', t.strings.length, true),
    resources: indexes('resources', t.resources.length, false),
    state: indexes('state', TASK_TABLE_STATES.length, false) as Uint8Array,
    reason: indexes('reason', TASK_TABLE_REASONS.length, true) as Uint8Array,
    healthy: indexes('healthy', 2, true) as Uint8Array,
    exitCode: floats('exitCode'),
    updatedAt: floats('updatedAt'),
  };
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(c.updatedAt[i]))
      throw new TaskTableError(`columns.updatedAt: row ${i} is not a finite number`);
    const x = c.exitCode[i];
    if (!Number.isNaN(x) && !Number.isSafeInteger(x)) {
      throw new TaskTableError(`columns.exitCode: row ${i} is neither an integer nor NaN (no exit code)`);
    }
  }
  const { columns: _, ...dictionaries } = t;
  return new TaskRows({ ...dictionaries, ids, frameworks, agents }, c);
}

/**
 * indexColumn checks that `bytes` hold `rows` indexes of the width `codes` values need, each
 * below `codes`, and returns them as a typed array. Throws TaskTableError naming `what`.
 */
export function indexColumn(what: string, bytes: Uint8Array, rows: number, codes: number): IndexArray {
  const width = indexWidth(codes);
  if (bytes.byteLength !== rows * width) {
    throw new TaskTableError(
      `${what}: ${bytes.byteLength} bytes for ${rows} rows of ${width}-byte indexes (expected ${rows * width})`,
    );
  }
  const values = readIndexes(bytes, width);
  for (let i = 0; i < rows; i++) {
    if (values[i] >= codes) {
      throw new TaskTableError(
        `${what}: row ${i} has index ${values[i]}, beyond its ${codes} possible values`,
      );
    }
  }
  return values;
}

/** floatColumn checks that `bytes` hold `rows` float64 values and returns them. */
export function floatColumn(what: string, bytes: Uint8Array, rows: number): Float64Array {
  if (bytes.byteLength !== rows * 8) {
    throw new TaskTableError(
      `${what}: ${bytes.byteLength} bytes for ${rows} rows of 8 (expected ${rows * 8})`,
    );
  }
  return readFloats(bytes);
}

/** splitIds reads ids joined by newlines (none: the empty string). */
export function splitIds(joined: string): string[] {
  return joined === '' ? [] : joined.split('\n');
}

/** checkIds throws TaskTableError unless every string is an id. */
export function checkIds(what: string, ids: readonly string[]): void {
  for (let i = 0; i < ids.length; i++) {
    if (!ID_PATTERN.test(ids[i])) {
      throw new TaskTableError(`${what}[${i}] is not an id: ${JSON.stringify(ids[i]).slice(0, 140)}`);
    }
  }
}

/** TaskTable validates a wire task table at the boundary and yields its TaskRows. */
export const TaskTable = TaskTableWire.transform((t, ctx) => {
  try {
    return decodeTaskTable(t);
  } catch (err) {
    if (!(err instanceof TaskTableError)) throw err;
    ctx.issues.push({ code: 'custom', message: err.message, input: t, path: [] });
    return z.NEVER;
  }
});
