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
import { applyReservation, ReservationError, type ReservationOp } from './allocator/index.js';

/** AcceptInput is the part of the master's state an ACCEPT is judged against. */
export interface AcceptInput {
  frameworkId: string;
  partitionAware: boolean;
  /** The framework's outstanding offers by id. */
  offers: ReadonlyMap<string, { frameworkId: string; agentId: string; role: string; resources: Resources }>;
  /** Whether the agent exists and is active. */
  agentActive: (agentId: string) => boolean;
  /** Ids of the framework's non-terminal tasks. */
  activeTaskIds: { has(taskId: string): boolean };
  offerIds: readonly string[];
  operations: readonly Operation[];
  now: number;
}

/** PlannedLaunch is a task to launch with the exact resources (and roles) it takes from the offers. */
export interface PlannedLaunch {
  task: TaskInfo & { agentId: string };
  resources: Resources;
}

/** PlannedStep is one operation of a valid ACCEPT, in the order the master applies them. */
export type PlannedStep = ({ type: 'LAUNCH' } & PlannedLaunch) | ReservationOp;

/** AcceptPlan is what an ACCEPT will do, decided before anything changes. */
export interface AcceptPlan {
  agentId?: string;
  /** The role of the offers (one ACCEPT uses offers of one role); set when the offers are valid. */
  role?: string;
  /** Offers consumed by this call (valid ones only). */
  usedOfferIds: string[];
  /** Tasks to launch, with the exact resources (and roles) they take from the offers. */
  launches: PlannedLaunch[];
  /** Launches and reservation changes in order; empty when the offers are invalid. */
  steps: PlannedStep[];
  /**
   * Why a RESERVE or UNRESERVE operation cannot apply to the offers: the master then refuses the
   * whole call and changes nothing.
   */
  operationError?: string;
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
 * framework and share one active agent and one role, or every task is dropped; each task must have
 * a fresh id and resources that fit in what is left of the offers, or it gets TASK_ERROR.
 * Operations apply in order to the pooled offers: RESERVE turns unreserved resources into
 * resources reserved for the offers' role, UNRESERVE turns them back, and later LAUNCHes draw on
 * the result. A reservation that the pool cannot honour sets `operationError`.
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
      steps: [],
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
  const role = input.offers.get(input.offerIds[0])?.role;
  let pool = R.normalize(input.offerIds.flatMap((id) => input.offers.get(id)?.resources ?? []));
  const seen = new Set<string>();
  const launches: PlannedLaunch[] = [];
  const steps: PlannedStep[] = [];
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
  const launch = (task: TaskInfo) => {
    if (input.activeTaskIds.has(task.taskId) || seen.has(task.taskId)) {
      reject(task, `task id ${task.taskId} is already in use by this framework`);
      return;
    }
    seen.add(task.taskId);
    if (task.agentId && task.agentId !== agentId) {
      reject(task, `task names agent ${task.agentId} but the offer is for agent ${agentId}`);
      return;
    }
    if (R.scalar(task.resources, 'cpus') <= 0 && R.scalar(task.resources, 'mem') <= 0) {
      reject(task, 'a task needs some cpus or mem');
      return;
    }
    const fitted = R.fitIn(pool, task.resources);
    if (!fitted) {
      reject(
        task,
        `task resources ${R.formatResources(task.resources)} do not fit in what is left of the offers: ${R.formatResources(pool) || 'nothing'}`,
      );
      return;
    }
    pool = R.subtract(pool, fitted);
    launches.push({ task: { ...task, agentId }, resources: fitted });
    steps.push({ type: 'LAUNCH', task: { ...task, agentId }, resources: fitted });
  };
  for (const op of input.operations) {
    if (op.type === 'LAUNCH') {
      for (const task of op.tasks) launch(task);
      continue;
    }
    const wrongRole = op.resources.find((r) => r.role !== undefined && r.role !== role && r.role !== '*');
    if (op.type === 'RESERVE' && wrongRole) {
      return invalidOperation(
        `RESERVE of ${R.formatResources([wrongRole])} names role ${wrongRole.role}, but the offers are for role ${role}`,
      );
    }
    try {
      pool = applyReservation(pool, pool, { type: op.type, resources: op.resources });
    } catch (err) {
      if (err instanceof ReservationError) return invalidOperation(err.message);
      throw err;
    }
    steps.push({ type: op.type, resources: R.normalize(op.resources) });
  }
  return { agentId, role, usedOfferIds: [...input.offerIds], launches, steps, rejected, unused: pool };
}

function invalidOperation(operationError: string): AcceptPlan {
  return { usedOfferIds: [], launches: [], steps: [], rejected: [], unused: [], operationError };
}

function offerProblem(input: AcceptInput): string | undefined {
  if (new Set(input.offerIds).size !== input.offerIds.length) return 'the same offer is named twice';
  let agentId: string | undefined;
  let role: string | undefined;
  for (const id of input.offerIds) {
    const offer = input.offers.get(id);
    if (!offer) return `offer ${id} is no longer valid`;
    if (offer.frameworkId !== input.frameworkId) return `offer ${id} belongs to another framework`;
    if (agentId && offer.agentId !== agentId) return 'offers of one ACCEPT must all be for the same agent';
    if (role !== undefined && offer.role !== role) {
      return `offers of one ACCEPT must all be for the same role (${role}, ${offer.role})`;
    }
    agentId = offer.agentId;
    role = offer.role;
  }
  if (agentId && !input.agentActive(agentId)) return `agent ${agentId} is not active`;
  return undefined;
}

/** partitionAware tells whether a framework understands the partition states. */
export function partitionAware(capabilities: readonly string[]): boolean {
  return capabilities.includes(Capability.PARTITION_AWARE);
}
