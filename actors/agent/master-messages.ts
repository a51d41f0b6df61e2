import type { MasterToAgent } from '../../protocol/index.js';
import { type AgentContext, type Step, taskKey, unchanged } from './agent-state.js';
import { acknowledgeUpdate } from './status-forwarding.js';
import { killTask, shutdownFramework } from './task-kill.js';
import { runTask } from './task-launch.js';

/**
 * masterMessage routes what the master says about tasks to the pure handlers. REREGISTER and
 * SHUTDOWN change the agent's life cycle and are the machine's business, so they do nothing here.
 */
export function masterMessage(s: AgentContext, msg: MasterToAgent, now: number, uuid: string): Step {
  switch (msg.type) {
    case 'RUN_TASK':
      return runTask(s, msg, now, uuid);
    case 'KILL_TASK':
      return killTask(s, msg.frameworkId, msg.taskId, msg.killPolicy, now, uuid);
    case 'SHUTDOWN_FRAMEWORK':
      return shutdownFramework(s, msg.frameworkId);
    case 'STATUS_UPDATE_ACK':
      return acknowledgeUpdate(s, taskKey(msg.frameworkId, msg.taskId), msg.uuid);
    case 'REREGISTER':
    case 'SHUTDOWN':
      return unchanged(s);
  }
}
