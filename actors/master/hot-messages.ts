import type { Effect } from './effects.js';

const HOT_AGENT = new Set(['RUN_TASK', 'RUN_TASKS', 'STATUS_UPDATE_ACK', 'STATUS_UPDATE_ACKS']);
const HOT_FRAMEWORK = new Set(['UPDATE', 'OFFERS']);

/**
 * isHot says whether an effect is one of the messages the master sends for every task (launches,
 * status updates, their acks) or every allocation (offers). The master builds them from input it
 * validated on the way in, so the runtime publishes them without validating them again: that
 * second zod pass was a few percent of the master's CPU at thousands of tasks a second. Receivers
 * still validate everything they get.
 */
export function isHot(e: Effect): boolean {
  if (e.kind === 'framework') return HOT_FRAMEWORK.has(e.event.type);
  if (e.kind === 'agent') return HOT_AGENT.has(e.message.type);
  return false;
}
