import { z } from 'zod';
import { Id } from '../ids.js';

/**
 * ResourceStatistics is what one container has used (Mesos ResourceStatistics): cpu times and
 * throttling, resident memory, processes, and the limits it runs under. `timestamp` is in seconds
 * since the epoch, so two samples give a rate. Fields a containerizer cannot measure are absent.
 */
export const ResourceStatistics = z.object({
  timestamp: z.number().finite().nonnegative(),
  cpusUserTimeSecs: z.number().finite().nonnegative().optional(),
  cpusSystemTimeSecs: z.number().finite().nonnegative().optional(),
  cpusLimit: z.number().finite().nonnegative().optional(),
  cpusNrThrottled: z.number().finite().nonnegative().optional(),
  memRssBytes: z.number().finite().nonnegative().optional(),
  memLimitBytes: z.number().finite().nonnegative().optional(),
  processes: z.number().int().nonnegative().optional(),
});
export type ResourceStatistics = z.infer<typeof ResourceStatistics>;

/** ContainerStatus is one live container on an agent and what it has used. */
export const ContainerStatus = z.object({
  agentId: Id,
  frameworkId: Id,
  executorId: Id,
  taskId: Id,
  containerId: z.string().max(256),
  /** `mesos` (a command under the agent's isolators) or `docker`. */
  containerizer: z.enum(['mesos', 'docker']),
  statistics: ResourceStatistics,
});
export type ContainerStatus = z.infer<typeof ContainerStatus>;

/** AgentOperatorCall is what an operator (or the master on its behalf) may ask an agent directly. */
export const AgentOperatorCall = z.discriminatedUnion('type', [
  z.object({ type: z.literal('GET_CONTAINERS'), frameworkId: Id.optional() }),
]);
export type AgentOperatorCall = z.infer<typeof AgentOperatorCall>;

/** ContainersView is the answer to GET_CONTAINERS, from one agent or gathered by the master. */
export const ContainersView = z.object({
  containers: z.array(ContainerStatus),
  /** Agents the master asked that did not answer in time (always empty from an agent). */
  unanswered: z.array(Id).default([]),
});
export type ContainersView = z.infer<typeof ContainersView>;

/** AgentOperatorResult maps each agent operator call to the schema of its result. */
export const AgentOperatorResult = {
  GET_CONTAINERS: ContainersView,
} as const satisfies Record<AgentOperatorCall['type'], z.ZodType>;
