import { z } from 'zod';
import { Id } from '../ids.js';
import { Limits } from '../limits.js';
import { TaskDigest } from '../task-digest.js';
import { AgentInfo, FrameworkInfo, KillPolicy, TaskInfo, TaskStatus } from './common.js';

/** RunningTask is how an agent reports a task it holds when it (re-)registers. */
export const RunningTask = z.object({ frameworkId: Id, task: TaskInfo, status: TaskStatus });
export type RunningTask = z.infer<typeof RunningTask>;

/** StatusUpdate is a reliable task status on its way from an agent to a framework. */
export const StatusUpdate = z.object({
  frameworkId: Id,
  status: TaskStatus.required({ uuid: true, agentId: true }),
});
export type StatusUpdate = z.infer<typeof StatusUpdate>;

/**
 * AgentToMaster is the agent -> master edge on `masterAgent(agentId)`. REGISTER is a request
 * (answered with Registered); the others are published.
 */
export const AgentToMaster = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('REGISTER'),
    agent: AgentInfo,
    tasks: z.array(RunningTask).max(Limits.maxTasksPerAccept).default([]),
    frameworks: z.array(FrameworkInfo).max(10_000).default([]),
    /**
     * Only to a master whose Registered listed TASK_DIGEST: the digest of every non-terminal task
     * the agent holds, which `tasks` then leaves out (it lists only terminal ones, and `frameworks`
     * only theirs). A master with no matching copy answers DIGEST_MISMATCH, and the agent sends its
     * tasks in full.
     */
    tasksDigest: TaskDigest.optional(),
  }),
  z.object({ type: z.literal('HEARTBEAT') }),
  z.object({ type: z.literal('STATUS_UPDATE'), update: StatusUpdate }),
  z.object({ type: z.literal('UNREGISTER') }),
  /** Several updates at once; only to a master whose Registered lists BATCHING. */
  z.object({ type: z.literal('STATUS_UPDATES'), updates: z.array(StatusUpdate).min(1).max(Limits.maxBatch) }),
]);
export type AgentToMaster = z.infer<typeof AgentToMaster>;
export type AgentToMasterInput = z.input<typeof AgentToMaster>;

/** Registered is the master's answer to REGISTER. */
export const Registered = z.object({
  agentId: Id,
  masterId: z.string(),
  heartbeatIntervalSeconds: z.number().positive(),
  /** What the master understands beyond the base protocol (AgentCapability). */
  capabilities: z.array(z.string().max(64)).max(32).optional(),
});
export type Registered = z.infer<typeof Registered>;

/**
 * AgentCapability names protocol additions that one side uses only when the other declares them
 * (AgentInfo.capabilities from the agent, Registered.capabilities from the master).
 * BATCHING: the agent takes RUN_TASKS and STATUS_UPDATE_ACKS; the master takes STATUS_UPDATES.
 * TASK_DIGEST (master only): the master's standbys follow the agents, so an agent re-registering
 * after a failover may send a REGISTER with a tasksDigest instead of its running tasks.
 */
export const AgentCapability = { BATCHING: 'BATCHING', TASK_DIGEST: 'TASK_DIGEST' } as const;
export type AgentCapability = (typeof AgentCapability)[keyof typeof AgentCapability];

/** MasterToAgent is the master -> agent edge, published on `agent(agentId)`. */
export const MasterToAgent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('RUN_TASK'),
    framework: FrameworkInfo,
    task: TaskInfo.required({ agentId: true }),
  }),
  z.object({ type: z.literal('KILL_TASK'), frameworkId: Id, taskId: Id, killPolicy: KillPolicy.optional() }),
  z.object({ type: z.literal('SHUTDOWN_FRAMEWORK'), frameworkId: Id }),
  z.object({
    type: z.literal('STATUS_UPDATE_ACK'),
    frameworkId: Id,
    taskId: Id,
    uuid: z.string().min(1).max(64),
  }),
  z.object({ type: z.literal('REREGISTER') }),
  z.object({ type: z.literal('SHUTDOWN'), message: z.string() }),
]);
export type MasterToAgent = z.infer<typeof MasterToAgent>;
export type MasterToAgentInput = z.input<typeof MasterToAgent>;

/**
 * MasterToBatchingAgent is MasterToAgent plus the batched messages a BATCHING agent takes: the
 * tasks of one ACCEPT in one RUN_TASKS, and the acknowledgements relayed at once in one
 * STATUS_UPDATE_ACKS. An agent that does not declare BATCHING never gets them.
 */
export const MasterToBatchingAgent = z.discriminatedUnion('type', [
  ...MasterToAgent.options,
  z.object({
    type: z.literal('RUN_TASKS'),
    framework: FrameworkInfo,
    tasks: z
      .array(TaskInfo.required({ agentId: true }))
      .min(1)
      .max(Limits.maxTasksPerAccept),
  }),
  z.object({
    type: z.literal('STATUS_UPDATE_ACKS'),
    acks: z
      .array(z.object({ frameworkId: Id, taskId: Id, uuid: z.string().min(1).max(64) }))
      .min(1)
      .max(Limits.maxBatch),
  }),
]);
export type MasterToBatchingAgent = z.infer<typeof MasterToBatchingAgent>;
export type MasterToBatchingAgentInput = z.input<typeof MasterToBatchingAgent>;
