import { z } from 'zod';
import { Id } from '../ids.js';
import { Limits } from '../limits.js';
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
  }),
  z.object({ type: z.literal('HEARTBEAT') }),
  z.object({ type: z.literal('STATUS_UPDATE'), update: StatusUpdate }),
  z.object({ type: z.literal('UNREGISTER') }),
]);
export type AgentToMaster = z.infer<typeof AgentToMaster>;
export type AgentToMasterInput = z.input<typeof AgentToMaster>;

/** Registered is the master's answer to REGISTER. */
export const Registered = z.object({
  agentId: Id,
  masterId: z.string(),
  heartbeatIntervalSeconds: z.number().positive(),
});
export type Registered = z.infer<typeof Registered>;

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
