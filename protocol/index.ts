/** The wire contract: ids, resources, task states, subjects and every message schema. */
export * from './ids.js';
export * from './limits.js';
export * from './messages/agent.js';
export * from './messages/common.js';
export * from './messages/containers.js';
export * from './messages/executor.js';
export * from './messages/leader.js';
export * from './messages/operator.js';
export * from './messages/reply.js';
export * from './messages/scheduler.js';
export * as resources from './resources.js';
export { type Range, type Resource, ResourceParseError, type Resources } from './resources.js';
export * from './subjects.js';
export * from './task-digest.js';
export * from './task-state.js';
export * from './version.js';
