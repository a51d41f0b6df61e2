import {
  AGENT_TABLE_STATUSES,
  AGENT_TABLE_VERSION,
  type AgentTableWire,
  packFloats,
  packIndexes,
} from '../../protocol/index.js';
import type { AgentRecord } from './state.js';
import { Dictionary, ResourceDictionary, type TableLimits } from './task-table.js';

const STATUS_CODE = new Map<string, number>(AGENT_TABLE_STATUSES.map((s, i) => [s, i]));

/**
 * agentTable is the agents as one AgentTable (protocol/messages/agent-table.ts), the companion of
 * the task table: GET_STATE's agents in a few columns rather than an object each.
 */
export function agentTable(agents: readonly AgentRecord[]): AgentTableWire {
  const n = agents.length;
  const ids: string[] = new Array(n);
  const hostnames: string[] = new Array(n);
  const attributes: Record<string, string>[] = [];
  const attributeCodes = new Map<string, number>();
  const versions = new Dictionary();
  const resources = new ResourceDictionary();
  const status = new Uint8Array(n);
  const attrs = new Uint32Array(n);
  const version = new Uint32Array(n);
  const total = new Uint32Array(n);
  const used = new Uint32Array(n);
  const offered = new Uint32Array(n);
  const registeredAt = new Float64Array(n);
  const lastSeenAt = new Float64Array(n);
  const tasks = new Uint32Array(n);
  let lastAttrs: Record<string, string> | undefined;
  let lastAttrsCode = 0;
  for (let i = 0; i < n; i++) {
    const a = agents[i];
    ids[i] = a.info.id;
    hostnames[i] = a.info.hostname;
    status[i] = STATUS_CODE.get(a.status) ?? 0;
    const at = a.info.attributes;
    if (at !== lastAttrs) {
      const key = attributesKey(at);
      let code = attributeCodes.get(key);
      if (code === undefined) {
        code = attributes.length;
        attributes.push(at);
        attributeCodes.set(key, code);
      }
      lastAttrs = at;
      lastAttrsCode = code;
    }
    attrs[i] = lastAttrsCode;
    version[i] = versions.code(a.info.version, a.info.version);
    total[i] = resources.code(a.total, 0);
    used[i] = resources.code(a.used, 1);
    offered[i] = resources.code(a.offered, 2);
    registeredAt[i] = a.registeredAt;
    lastSeenAt[i] = a.lastSeenAt;
    tasks[i] = a.tasks.size;
  }
  return {
    version: AGENT_TABLE_VERSION,
    rows: n,
    ids: ids.join('\n'),
    hostnames,
    attributes,
    versions: versions.values,
    resources: resources.values,
    columns: {
      status,
      attributes: packIndexes(attrs, attributes.length),
      version: packIndexes(version, versions.values.length),
      total: packIndexes(total, resources.values.length),
      used: packIndexes(used, resources.values.length),
      offered: packIndexes(offered, resources.values.length),
      registeredAt: packFloats(registeredAt),
      lastSeenAt: packFloats(lastSeenAt),
      tasks: packIndexes(tasks, 2 ** 32),
    },
  };
}

/** attributesKey is an attribute set's dictionary key; most agents have none, which costs nothing. */
function attributesKey(attributes: Record<string, string>): string {
  for (const _ in attributes) return JSON.stringify(Object.entries(attributes).sort());
  return '';
}

/** agentBytes is about how many bytes an agent takes in an agent table (its id, hostname and columns). */
export function agentBytes(a: AgentRecord): number {
  return a.info.id.length + a.info.hostname.length + 40;
}

/** AgentPage is one page of the agents as a table, its size, and where the next page starts. */
export interface AgentPage {
  table: AgentTableWire;
  /** About how many bytes the table takes encoded (agentBytes of each). */
  bytes: number;
  totalAgents: number;
  nextAgentsFrom?: number;
}

/**
 * agentTablePage is the table of the agents from position `from` (in the map's order), as many as
 * `limits` allow and at least one: a page of a few thousand agents holds the master a few
 * milliseconds, where the table of 40,000 held it about 100 ms on a loaded machine.
 */
export function agentTablePage(
  agents: ReadonlyMap<string, AgentRecord>,
  from: number,
  limits: TableLimits,
): AgentPage {
  const page: AgentRecord[] = [];
  let bytes = 0;
  let at = 0;
  for (const a of agents.values()) {
    if (at++ < from) continue;
    const grow = agentBytes(a);
    if (page.length >= limits.maxRows || (page.length > 0 && bytes + grow > limits.maxBytes)) break;
    page.push(a);
    bytes += grow;
  }
  const end = Math.min(from, agents.size) + page.length;
  return {
    table: agentTable(page),
    bytes,
    totalAgents: agents.size,
    ...(end < agents.size ? { nextAgentsFrom: end } : {}),
  };
}
