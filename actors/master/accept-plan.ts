import {
  Capability,
  type Operation,
  resources as R,
  Reason,
  type Resources,
  Source,
  stateForFramework,
  type TaskInfo,
  TaskState,
  type TaskStatus,
} from '../../protocol/index.js';

/** AcceptInput is the part of the master's state an ACCEPT is judged against. */
export interface AcceptInput {
  frameworkId: string;
  partitionAware: boolean;
  /** The framework's outstanding offers by id. */
  offers: ReadonlyMap<string, { frameworkId: string; agentId: string; resources: Resources }>;
  /** Whether the agent exists and is active. */
  agentActive: (agentId: string) => boolean;
  /** Ids of the framework's non-terminal tasks. */
  activeTaskIds: ReadonlySet<string>;
  offerIds: readonly string[];
  operations: readonly Operation[];
  now: number;
}

/** AcceptPlan is what an ACCEPT will do, decided before anything changes. */
export interface AcceptPlan {
  agentId?: string;
  /** Offers consumed by this call (valid ones only). */
  usedOfferIds: string[];
  /** Tasks to launch, with the exact resources (and roles) they take from the offers. */
  launches: { task: TaskInfo & { agentId: string }; resources: Resources }[];
  /** Master-made updates for tasks that will not launch. */
  rejected: TaskStatus[];
  /** What the offers held that the operations did not use. */
  unused: Resources;
}

function masterStatus(
  taskId: string,
  state: TaskState,
  reason: Reason,
  message: string,
  now: number,
  partitionAware: boolean,
  agentId?: string,
): TaskStatus {
  return {
    taskId,
    state: stateForFramework(state, partitionAware),
    reason,
    source: Source.MASTER,
    message,
    agentId,
    timestamp: now,
  };
}

/**
 * planAccept validates an ACCEPT the way Mesos does: the offers must exist, belong to the
 * framework and share one active agent, or every task is dropped; each task must have a fresh id
 * and resources that fit in what is left of the offers, or it gets TASK_ERROR.
 */
export function planAccept(input: AcceptInput): AcceptPlan {
  const tasks = input.operations.flatMap((op) => (op.type === 'LAUNCH' ? op.tasks : []));
  const problem = offerProblem(input);
  const valid = input.offerIds.filter((id) => input.offers.get(id)?.frameworkId === input.frameworkId);
  const uniqueValid = [...new Set(valid)];
  if (problem) {
    return {
      usedOfferIds: uniqueValid,
      launches: [],
      rejected: tasks.map((t) =>
        masterStatus(
          t.taskId,
          TaskState.DROPPED,
          Reason.INVALID_OFFERS,
          problem,
          input.now,
          input.partitionAware,
        ),
      ),
      unused: R.normalize(uniqueValid.flatMap((id) => input.offers.get(id)?.resources ?? [])),
      agentId: uniqueValid.length ? input.offers.get(uniqueValid[0])?.agentId : undefined,
    };
  }
  const agentId = input.offers.get(input.offerIds[0])?.agentId as string;
  let pool = R.normalize(input.offerIds.flatMap((id) => input.offers.get(id)?.resources ?? []));
  const seen = new Set<string>();
  const launches: AcceptPlan['launches'] = [];
  const rejected: TaskStatus[] = [];
  const reject = (t: TaskInfo, message: string) =>
    rejected.push(
      masterStatus(
        t.taskId,
        TaskState.ERROR,
        Reason.TASK_INVALID,
        message,
        input.now,
        input.partitionAware,
        agentId,
      ),
    );
  for (const task of tasks) {
    if (input.activeTaskIds.has(task.taskId) || seen.has(task.taskId)) {
      reject(task, `task id ${task.taskId} is already in use by this framework`);
      continue;
    }
    seen.add(task.taskId);
    if (task.agentId && task.agentId !== agentId) {
      reject(task, `task names agent ${task.agentId} but the offer is for agent ${agentId}`);
      continue;
    }
    if (R.scalar(task.resources, 'cpus') <= 0 && R.scalar(task.resources, 'mem') <= 0) {
      reject(task, 'a task needs some cpus or mem');
      continue;
    }
    const fitted = R.fitIn(pool, task.resources);
    if (!fitted) {
      reject(
        task,
        `task resources ${R.formatResources(task.resources)} do not fit in what is left of the offers: ${R.formatResources(pool) || 'nothing'}`,
      );
      continue;
    }
    pool = R.subtract(pool, fitted);
    launches.push({ task: { ...task, agentId }, resources: fitted });
  }
  return { agentId, usedOfferIds: [...input.offerIds], launches, rejected, unused: pool };
}

function offerProblem(input: AcceptInput): string | undefined {
  if (new Set(input.offerIds).size !== input.offerIds.length) return 'the same offer is named twice';
  let agentId: string | undefined;
  for (const id of input.offerIds) {
    const offer = input.offers.get(id);
    if (!offer) return `offer ${id} is no longer valid`;
    if (offer.frameworkId !== input.frameworkId) return `offer ${id} belongs to another framework`;
    if (agentId && offer.agentId !== agentId) return 'offers of one ACCEPT must all be for the same agent';
    agentId = offer.agentId;
  }
  if (agentId && !input.agentActive(agentId)) return `agent ${agentId} is not active`;
  return undefined;
}

/** partitionAware tells whether a framework understands the partition states. */
export function partitionAware(capabilities: readonly string[]): boolean {
  return capabilities.includes(Capability.PARTITION_AWARE);
}
