import { z } from 'zod';
import { Resources } from '../resources.js';
import type { AgentView } from './operator.js';
import {
  checkIds,
  floatColumn,
  type IndexArray,
  indexColumn,
  splitIds,
  TableRows,
  TaskTableError,
} from './task-table.js';

/**
 * The agent table is GET_STATE's compact list of agents (`agentsAs: 'table'`), built like the
 * task table: the same fields as AgentView objects, as columns, with resource vectors, attribute
 * sets and versions as indexes into dictionaries. 40,000 agents are 9 MB and half a second as
 * objects; as a table they are about 2 MB and tens of milliseconds.
 */
export const AGENT_TABLE_VERSION = 1;

/** AGENT_TABLE_STATUSES fixes the `status` column's codes; append only. */
export const AGENT_TABLE_STATUSES = [
  'ACTIVE',
  'UNREACHABLE',
  'REMOVED',
] as const satisfies readonly AgentView['status'][];

const Bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'must be bytes' });

/** AgentTableWire is the agent table as it travels. */
export const AgentTableWire = z.object({
  version: z.literal(AGENT_TABLE_VERSION),
  rows: z.number().int().nonnegative(),
  /** The agent ids, joined by newlines. */
  ids: z.string(),
  hostnames: z.array(z.string()),
  /** Attribute sets, versions and resource vectors, each stored once. */
  attributes: z.array(z.record(z.string(), z.string())),
  versions: z.array(z.string()),
  resources: z.array(Resources),
  columns: z.object({
    /** One byte: code into AGENT_TABLE_STATUSES. */
    status: Bytes,
    /** Index into `attributes`. */
    attributes: Bytes,
    /** Index into `versions`. */
    version: Bytes,
    /** Indexes into `resources`. */
    total: Bytes,
    used: Bytes,
    offered: Bytes,
    /** float64 each (ms since the epoch). */
    registeredAt: Bytes,
    lastSeenAt: Bytes,
    /** uint32 each: how many tasks the agent runs. */
    tasks: Bytes,
  }),
});
export type AgentTableWire = z.input<typeof AgentTableWire>;

interface AgentColumns {
  status: IndexArray;
  attributes: IndexArray;
  version: IndexArray;
  total: IndexArray;
  used: IndexArray;
  offered: IndexArray;
  registeredAt: Float64Array;
  lastSeenAt: Float64Array;
  tasks: IndexArray;
}

/** AgentRows are the validated rows of an agent table; `at(i)` makes an AgentView on demand. */
export class AgentRows extends TableRows<AgentView> {
  constructor(
    private readonly wire: Omit<z.output<typeof AgentTableWire>, 'columns' | 'ids'> & { ids: string[] },
    private readonly c: AgentColumns,
  ) {
    super(wire.rows);
  }

  /** id of row i. */
  id(i: number): string {
    return this.wire.ids[i];
  }

  /** at makes row i's AgentView (its resources and attributes are shared: treat them as read-only). */
  at(i: number): AgentView {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`row ${i} is outside the table's ${this.length} rows`);
    }
    const { wire: w, c } = this;
    return {
      id: w.ids[i],
      hostname: w.hostnames[i],
      status: AGENT_TABLE_STATUSES[c.status[i]],
      attributes: w.attributes[c.attributes[i]],
      total: w.resources[c.total[i]],
      used: w.resources[c.used[i]],
      offered: w.resources[c.offered[i]],
      registeredAt: c.registeredAt[i],
      lastSeenAt: c.lastSeenAt[i],
      version: w.versions[c.version[i]],
      tasks: c.tasks[i],
    };
  }
}

/** decodeAgentTable checks a parsed agent table completely (as decodeTaskTable does) and returns its rows. */
export function decodeAgentTable(t: z.output<typeof AgentTableWire>): AgentRows {
  const n = t.rows;
  const ids = splitIds(t.ids);
  if (ids.length !== n) throw new TaskTableError(`agents ids: ${ids.length} ids for ${n} rows`);
  if (t.hostnames.length !== n)
    throw new TaskTableError(`agents hostnames: ${t.hostnames.length} for ${n} rows`);
  checkIds('agents ids', ids);
  const col = t.columns;
  const idx = (name: keyof typeof col, codes: number) =>
    indexColumn(`agents columns.${name}`, col[name], n, codes);
  const c: AgentColumns = {
    status: idx('status', AGENT_TABLE_STATUSES.length),
    attributes: idx('attributes', t.attributes.length),
    version: idx('version', t.versions.length),
    total: idx('total', t.resources.length),
    used: idx('used', t.resources.length),
    offered: idx('offered', t.resources.length),
    registeredAt: floatColumn('agents columns.registeredAt', col.registeredAt, n),
    lastSeenAt: floatColumn('agents columns.lastSeenAt', col.lastSeenAt, n),
    // Task counts travel as 4-byte numbers: any count is within range.
    tasks: indexColumn('agents columns.tasks', col.tasks, n, 2 ** 32),
  };
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(c.registeredAt[i]) || !Number.isFinite(c.lastSeenAt[i])) {
      throw new TaskTableError(`agents columns.registeredAt/lastSeenAt: row ${i} is not a finite number`);
    }
  }
  const { columns: _, ...dictionaries } = t;
  return new AgentRows({ ...dictionaries, ids }, c);
}

/** AgentTable validates a wire agent table at the boundary and yields its AgentRows. */
export const AgentTable = AgentTableWire.transform((t, ctx) => {
  try {
    return decodeAgentTable(t);
  } catch (err) {
    if (!(err instanceof TaskTableError)) throw err;
    ctx.issues.push({ code: 'custom', message: err.message, input: t, path: [] });
    return z.NEVER;
  }
});
