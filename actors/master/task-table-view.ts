import { splitIds, type TaskTableWire } from '../../protocol/index.js';
import type { CallGuard } from './authorization.js';
import { restrictTaskTable } from './task-table.js';

type Caller = Parameters<CallGuard['view']>[0];

/**
 * viewableAnswer filters a read's result down to what the caller may view, task tables included:
 * the guard drops other frameworks' objects, and a table keeps only the rows of the frameworks
 * the guard lets through (rebuilt, so that no dictionary names a hidden framework's task).
 */
export function viewableAnswer(guard: CallGuard, caller: Caller, result: unknown): unknown {
  const viewed = guard.view(caller, result);
  const table = (viewed as { taskTable?: TaskTableWire } | undefined)?.taskTable;
  // An unsecured master, or an admin's call, answers unchanged.
  if (viewed === result || !table) return viewed;
  const frameworks = splitIds(table.frameworks);
  const probe = { frameworks: frameworks.map((id) => ({ id })) };
  const visible = new Set((guard.view(caller, probe) as typeof probe).frameworks.map((f) => f.id));
  if (frameworks.every((id) => visible.has(id))) return viewed;
  return { ...(viewed as object), taskTable: restrictTaskTable(table, (id) => visible.has(id)) };
}
