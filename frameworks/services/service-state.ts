import { z } from 'zod';
import { ServiceSpec } from '../apps/spec.js';

/** Instance is one launched copy of a service, as the framework last heard of it. */
export const Instance = z.object({
  version: z.number().int(),
  state: z.string(),
  /** The executor's latest health verdict (undefined before the first one). */
  healthy: z.boolean().optional(),
  /** Whether the instance was launched with a health check (else RUNNING counts as healthy). */
  checked: z.boolean(),
  /** The framework asked the master to kill it: its end is not a failure. */
  killing: z.boolean().default(false),
  agentId: z.string(),
  hostname: z.string(),
  attributes: z.record(z.string(), z.string()).default({}),
  ports: z.array(z.number().int()),
  startedAt: z.number(),
});
export type Instance = z.infer<typeof Instance>;

/** Deployment is a rollout in progress from one version to another (a rollback is one too). */
export const Deployment = z.object({
  fromVersion: z.number().int(),
  toVersion: z.number().int(),
  startedAt: z.number(),
  /** Instances of the new version that ended without being asked to. */
  failures: z.number().int(),
  rollback: z.boolean(),
});
export type Deployment = z.infer<typeof Deployment>;

/** ServiceState is everything the services framework keeps about one service (persisted in KV). */
export const ServiceState = z.object({
  spec: ServiceSpec,
  version: z.number().int(),
  generation: z.string(),
  seq: z.number().int(),
  /** The spec before the last rollout: what a rollback returns to. */
  previous: ServiceSpec.optional(),
  deployment: Deployment.optional(),
  instances: z.record(z.string(), Instance),
  /** Consecutive failures, and when the next launch may happen (restart backoff). */
  failures: z.number().int(),
  nextLaunchAt: z.number().optional(),
  deleting: z.boolean().default(false),
  events: z.array(z.object({ at: z.number(), message: z.string() })),
});
export type ServiceState = z.infer<typeof ServiceState>;
