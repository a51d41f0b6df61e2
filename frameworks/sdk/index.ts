/** The scheduler SDK: write a Mezzo framework (Scheduler) or talk to the master as an operator (Operator). */
export {
  type Acknowledgement,
  acknowledgementFor,
  type FiltersInput,
  launchCall,
  routeEvent,
  type SchedulerRoute,
  type TaskToLaunch,
} from './calls.js';
export type { BusSource } from './connection.js';
export { TypedEmitter } from './emitter.js';
export { SchedulerClosedError, SubscribeRefusedError } from './errors.js';
export { FakeBus, type RecordedRequest, type Responder } from './fake-bus.js';
export { newFrameworkId } from './framework-id.js';
export {
  DEFAULT_PAGE_AGENTS,
  DEFAULT_PAGE_TASKS,
  Operator,
  type OperatorArgs,
  type OperatorCallType,
  type OperatorOptions,
  type PageOptions,
  type StateRows,
} from './operator-client.js';
export { type TaskPage, TaskRowList } from './operator-rows.js';
export {
  type FailureInfo,
  Scheduler,
  type SchedulerHandlers,
  type SchedulerOptions,
  type SchedulerPhase,
  type TimerClock,
} from './scheduler.js';
export {
  type SchedulerContext,
  type SchedulerInput,
  type SchedulerMachineEvent,
  type SchedulerNotice,
  SILENT_INTERVALS,
  SUBSCRIBE_RETRY,
  type SubscribeOutcome,
  schedulerMachine,
} from './scheduler-machine.js';
export { StateStore, StateStoreError, type StateStoreOptions } from './state-store.js';
