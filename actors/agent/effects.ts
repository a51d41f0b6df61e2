import type { AgentToExecutor, AgentToMasterInput } from '../../protocol/index.js';
import type { TaskFileInput } from '../executor/index.js';

/** ExecutorLaunch is everything needed to start one executor process for one task. */
export interface ExecutorLaunch {
  key: string;
  executorId: string;
  /** `<workDir>/frameworks/<frameworkId>/executors/<executorId>/runs/<containerId>` */
  sandbox: string;
  /** The task file, less the subject prefix that the runtime knows. */
  file: Omit<TaskFileInput, 'prefix'>;
}

/** Signal is a signal the agent sends to a process group. */
export type Signal = 'SIGTERM' | 'SIGKILL';

/**
 * AgentEffect is something a handler decided to do. Each kind is carried out by the action of the
 * same name, bound by the runtime, except the timers, which the machine keeps as delayed events.
 */
export type AgentEffect =
  | { kind: 'sendToMaster'; message: AgentToMasterInput }
  | { kind: 'sendToExecutor'; executorId: string; message: AgentToExecutor }
  | { kind: 'spawnExecutor'; launch: ExecutorLaunch }
  | { kind: 'signalProcessGroup'; pgid: number; signal: Signal }
  | { kind: 'warn'; message: string; fields?: Record<string, unknown> }
  | { kind: 'scheduleRetry'; key: string; uuid: string; delayMs: number }
  | { kind: 'cancelRetry'; key: string }
  | { kind: 'scheduleKillEscalation'; key: string; delayMs: number }
  | { kind: 'cancelKillEscalation'; key: string }
  | { kind: 'scheduleReregistrationTimeout'; key: string; delayMs: number };
