import { z } from 'zod';
import { Id } from '../ids.js';
import { TaskStatus } from './common.js';

/** ExecutorToAgent is the executor -> agent edge, published on `agentExecutors(agentId)`. */
export const ExecutorToAgent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('REGISTER'),
    executorId: Id,
    frameworkId: Id,
    taskId: Id,
    pid: z.number().int().positive(),
  }),
  z.object({
    type: z.literal('STATUS_UPDATE'),
    executorId: Id,
    frameworkId: Id,
    status: TaskStatus.required({ uuid: true }),
  }),
]);
export type ExecutorToAgent = z.infer<typeof ExecutorToAgent>;

/** AgentToExecutor is the agent -> executor edge, published on `executor(agentId, executorId)`. */
export const AgentToExecutor = z.discriminatedUnion('type', [
  z.object({ type: z.literal('KILL'), gracePeriodSeconds: z.number().finite().min(0).max(3600).optional() }),
  z.object({ type: z.literal('ACK'), uuid: z.string().min(1).max(64) }),
  z.object({ type: z.literal('SHUTDOWN') }),
  /** A restarted agent asks a live executor to REGISTER again and resend what it has not had acknowledged. */
  z.object({ type: z.literal('RECONNECT') }),
]);
export type AgentToExecutor = z.infer<typeof AgentToExecutor>;

/** TaskOutput is one chunk of a task's stdout or stderr, published on `taskOutput(frameworkId, taskId)`. */
export const TaskOutput = z.object({
  stream: z.enum(['stdout', 'stderr']),
  seq: z.number().int().nonnegative(),
  data: z.instanceof(Uint8Array),
  eof: z.boolean().default(false),
});
export type TaskOutput = z.infer<typeof TaskOutput>;
