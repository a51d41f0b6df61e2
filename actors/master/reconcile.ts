import {
  AgentStatus,
  Reason,
  Source,
  stateForFramework,
  TaskState,
  type TaskStatus,
} from '../../protocol/index.js';

/** ReconcileInput is what reconciliation reads. */
export interface ReconcileInput {
  /** Latest status of each task the master knows for the framework (non-terminal and completed). */
  known: ReadonlyMap<string, TaskStatus>;
  agentStatus: (agentId: string) => AgentStatus | undefined;
  partitionAware: boolean;
  now: number;
}

/**
 * reconcile answers RECONCILE with the Mesos rules. An empty list asks for every task the master
 * knows; otherwise, per task: known -> latest state; unknown on an active agent -> GONE; agent
 * unreachable -> UNREACHABLE; agent removed -> GONE_BY_OPERATOR; agent unknown -> UNKNOWN.
 * Non-partition-aware frameworks see LOST instead. Answers carry REASON_RECONCILIATION, no uuid.
 */
export function reconcile(
  input: ReconcileInput,
  tasks: readonly { taskId: string; agentId?: string }[],
): TaskStatus[] {
  const answer = (s: Omit<TaskStatus, 'source' | 'reason' | 'timestamp' | 'uuid'>): TaskStatus => ({
    ...s,
    state: stateForFramework(s.state, input.partitionAware),
    source: Source.MASTER,
    reason: Reason.RECONCILIATION,
    timestamp: input.now,
  });
  if (tasks.length === 0) {
    return [...input.known.values()].map(({ uuid: _uuid, ...s }) => answer(s));
  }
  return tasks.map(({ taskId, agentId }) => {
    const known = input.known.get(taskId);
    if (known) {
      const { uuid: _uuid, ...s } = known;
      return answer(s);
    }
    const status = agentId ? input.agentStatus(agentId) : undefined;
    const state =
      status === AgentStatus.ACTIVE
        ? TaskState.GONE
        : status === AgentStatus.UNREACHABLE
          ? TaskState.UNREACHABLE
          : status === AgentStatus.REMOVED
            ? TaskState.GONE_BY_OPERATOR
            : TaskState.UNKNOWN;
    return answer({ taskId, agentId, state });
  });
}
