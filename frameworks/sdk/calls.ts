import type {
  Filters,
  Offer,
  OperationInput,
  SchedulerCallInput,
  SchedulerEvent,
  TaskInfoInput,
  TaskStatus,
} from '../../protocol/index.js';

/** FiltersInput is what accept, launch and decline take: `{ refuseSeconds }` (default 5). */
export type FiltersInput = Partial<Filters>;

/** TaskToLaunch is a task as `launch` takes it; agentId defaults to the offer's agent. */
export type TaskToLaunch = TaskInfoInput;

/** Acknowledgement is the ACKNOWLEDGE call that a status update needs. */
export type Acknowledgement = Extract<SchedulerCallInput, { type: 'ACKNOWLEDGE' }>;

/**
 * acknowledgementFor returns the ACKNOWLEDGE call a status needs, or undefined when it needs none:
 * statuses without a uuid are made by the master (reconciliation, invalid launches) and are never
 * retried, so they are not acknowledged.
 */
export function acknowledgementFor(status: TaskStatus): Acknowledgement | undefined {
  if (!status.uuid) return undefined;
  if (!status.agentId) return undefined;
  return { type: 'ACKNOWLEDGE', agentId: status.agentId, taskId: status.taskId, uuid: status.uuid };
}

/**
 * launchCall builds the ACCEPT that launches tasks on offers. Given offers (rather than ids), each
 * task without an agentId gets the offers' agent.
 */
export function launchCall(
  offers: Offer | string | readonly (Offer | string)[],
  tasks: readonly TaskToLaunch[],
  filters?: FiltersInput,
): Extract<SchedulerCallInput, { type: 'ACCEPT' }> {
  const list = Array.isArray(offers) ? offers : [offers as Offer | string];
  const offerIds = list.map((o) => (typeof o === 'string' ? o : o.id));
  const agentId = list.find((o): o is Offer => typeof o !== 'string')?.agentId;
  const operations: OperationInput[] = [
    { type: 'LAUNCH', tasks: tasks.map((t) => (t.agentId || !agentId ? t : { ...t, agentId })) },
  ];
  return { type: 'ACCEPT', offerIds, operations, ...(filters ? { filters } : {}) };
}

/** toIds turns one id or many into a list. */
export function toIds(ids: string | readonly string[]): string[] {
  return typeof ids === 'string' ? [ids] : [...ids];
}

/** SchedulerRoute is one thing the scheduler does about an event from the master. */
export type SchedulerRoute =
  | { type: 'notify'; event: Exclude<SchedulerEvent, { type: 'HEARTBEAT' | 'ERROR' }> }
  | { type: 'acknowledge'; ack: Acknowledgement };

/**
 * routeEvent decides what an event from the master leads to: HEARTBEAT only proves the master is
 * alive, UPDATE is handed to the handlers and then acknowledged when it carries a uuid (with
 * automatic acknowledgement on), everything else goes to the handlers. ERROR is handled by the
 * life cycle (it closes the scheduler), not here.
 */
export function routeEvent(event: SchedulerEvent, autoAcknowledge: boolean): SchedulerRoute[] {
  if (event.type === 'HEARTBEAT' || event.type === 'ERROR') return [];
  const out: SchedulerRoute[] = [{ type: 'notify', event }];
  if (event.type === 'UPDATE' && autoAcknowledge) {
    const ack = acknowledgementFor(event.status);
    if (ack) out.push({ type: 'acknowledge', ack });
  }
  return out;
}
