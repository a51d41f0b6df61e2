import { z } from 'zod';
import { Id, RoleName } from '../ids.js';
import { Limits } from '../limits.js';
import { Resources } from '../resources.js';
import { ReasonSchema, SourceSchema, TaskStateSchema } from '../task-state.js';

/** Capability is what a framework declares it understands (Mesos FrameworkInfo.Capability). */
export const Capability = {
  PARTITION_AWARE: 'PARTITION_AWARE',
  TASK_KILLING_STATE: 'TASK_KILLING_STATE',
  GPU_RESOURCES: 'GPU_RESOURCES',
  MULTI_ROLE: 'MULTI_ROLE',
  RESERVATION_REFINEMENT: 'RESERVATION_REFINEMENT',
} as const;
export type Capability = (typeof Capability)[keyof typeof Capability];
export const CapabilitySchema = z.enum(Object.values(Capability) as [Capability, ...Capability[]]);

const Name = z.string().min(1).max(256);
const Labels = z.record(z.string().max(256), z.string().max(4096));

/** FrameworkInfo describes a scheduler; its id is chosen by the framework and kept across failovers. */
export const FrameworkInfo = z.object({
  id: Id,
  name: Name,
  user: z.string().max(64).default(''),
  roles: z.array(RoleName).min(1).max(64).default(['*']),
  failoverTimeoutSeconds: z
    .number()
    .finite()
    .min(0)
    .max(365 * 24 * 3600)
    .default(0),
  checkpoint: z.boolean().default(false),
  principal: z.string().max(256).optional(),
  hostname: z.string().max(256).optional(),
  capabilities: z.array(CapabilitySchema).max(16).default([]),
  labels: Labels.optional(),
});
export type FrameworkInfo = z.infer<typeof FrameworkInfo>;
export type FrameworkInfoInput = z.input<typeof FrameworkInfo>;

/** AgentInfo describes an agent machine; its id is chosen by the agent and kept across restarts. */
export const AgentInfo = z.object({
  id: Id,
  hostname: z.string().min(1).max(256),
  resources: Resources,
  attributes: z.record(z.string().max(128), z.string().max(1024)).default({}),
  bootId: z.string().max(128).optional(),
  version: z.string().max(64),
  /** What the agent understands beyond the base protocol (AgentCapability); unknown names are kept and ignored. */
  capabilities: z.array(z.string().max(64)).max(32).optional(),
});
export type AgentInfo = z.infer<typeof AgentInfo>;

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, 'environment names are shell identifiers');

/** CommandInfo is what a task runs: a shell command line, or an argv run without a shell. */
export const CommandInfo = z
  .object({
    shell: z.boolean().default(true),
    value: z.string().max(Limits.maxCommandChars).optional(),
    argv: z.array(z.string().max(Limits.maxCommandChars)).max(4096).optional(),
    env: z.record(EnvName, z.string().max(Limits.maxCommandChars)).default({}),
    /**
     * Environment variables whose values are secret: passed to the task's environment only,
     * never logged, never in GET_STATE, GET_TASKS or `mezzo tasks`. They win over `env`.
     */
    secrets: z.record(EnvName, z.string().max(Limits.maxCommandChars)).optional(),
    user: z.string().max(64).optional(),
  })
  .refine((c) => (c.shell ? !!c.value : !!c.argv?.length), {
    message: 'a shell command needs a value; a non-shell command needs a non-empty argv',
  })
  .refine(
    (c) => Object.keys(c.env).length + Object.keys(c.secrets ?? {}).length <= Limits.maxEnvVars,
    'too many environment variables',
  );
export type CommandInfo = z.infer<typeof CommandInfo>;
export type CommandInfoInput = z.input<typeof CommandInfo>;

/** KillPolicy says how long a task gets between SIGTERM and SIGKILL. */
export const KillPolicy = z.object({ gracePeriodSeconds: z.number().finite().min(0).max(3600) });
export type KillPolicy = z.infer<typeof KillPolicy>;

/** ContainerType names the containerizers a task can ask for (Mesos ContainerInfo.Type). */
export const ContainerType = { DOCKER: 'DOCKER' } as const;
export type ContainerType = (typeof ContainerType)[keyof typeof ContainerType];

/** DockerNetwork is a Docker container's network mode. */
export const DockerNetwork = { HOST: 'host', BRIDGE: 'bridge', NONE: 'none' } as const;
export type DockerNetwork = (typeof DockerNetwork)[keyof typeof DockerNetwork];

/** DockerInfo names the image a DOCKER task runs in; it must already be on the agent (never pulled). */
export const DockerInfo = z.object({
  image: z.string().min(1).max(256).regex(/^\S+$/, 'an image name has no whitespace'),
  network: z.enum([DockerNetwork.HOST, DockerNetwork.BRIDGE, DockerNetwork.NONE]).optional(),
});
export type DockerInfo = z.infer<typeof DockerInfo>;

/**
 * ContainerInfo says which containerizer runs a task, tagged by `type` so that more (MESOS images)
 * can come later. A task without one runs as a command under the agent's isolators.
 */
export const ContainerInfo = z.discriminatedUnion('type', [
  z.object({ type: z.literal(ContainerType.DOCKER), docker: DockerInfo }),
]);
export type ContainerInfo = z.infer<typeof ContainerInfo>;

/** RlimitType names the POSIX resource limits a task can set (Mesos RLimitInfo, RLMT_ dropped). */
export const RLIMIT_TYPES = [
  'AS',
  'CORE',
  'CPU',
  'DATA',
  'FSIZE',
  'LOCKS',
  'MEMLOCK',
  'MSGQUEUE',
  'NICE',
  'NOFILE',
  'NPROC',
  'RSS',
  'RTPRIO',
  'RTTIME',
  'SIGPENDING',
  'STACK',
] as const;
export type RlimitType = (typeof RLIMIT_TYPES)[number];

/**
 * Rlimit is one POSIX resource limit of a task (setrlimit): a soft and a hard value, both or
 * neither; neither means unlimited, as in Mesos.
 */
export const Rlimit = z
  .object({
    type: z.enum(RLIMIT_TYPES),
    soft: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    hard: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .refine((r) => (r.soft === undefined) === (r.hard === undefined), {
    message: 'an rlimit gives both soft and hard, or neither (unlimited)',
  })
  .refine((r) => r.soft === undefined || r.hard === undefined || r.soft <= r.hard, {
    message: 'an rlimit soft value may not exceed its hard value',
  });
export type Rlimit = z.infer<typeof Rlimit>;

/** HealthCheckType names how a task's health is probed (Mesos HealthCheck.Type). */
export const HealthCheckType = { COMMAND: 'COMMAND', HTTP: 'HTTP', TCP: 'TCP' } as const;
export type HealthCheckType = (typeof HealthCheckType)[keyof typeof HealthCheckType];

const Port = z.number().int().min(1).max(65535);
const Seconds = (max: number) => z.number().finite().min(0).max(max);

/**
 * HealthCheck says how the executor probes a running task (Mesos HealthCheck): first after
 * `delaySeconds`, then every `intervalSeconds`, each probe given `timeoutSeconds`. Failures during
 * `gracePeriodSeconds` after the task starts do not count; `consecutiveFailures` failures in a row
 * after it make the task unhealthy and kill it (0 means never kill). HTTP probes GET
 * `http://127.0.0.1:<port><path>` and pass on a 2xx/3xx status; TCP probes pass when the port
 * accepts a connection; COMMAND probes pass when the command exits 0.
 */
export const HealthCheck = z
  .object({
    type: z.enum([HealthCheckType.COMMAND, HealthCheckType.HTTP, HealthCheckType.TCP]),
    delaySeconds: Seconds(3600).default(15),
    intervalSeconds: z.number().finite().min(0.05).max(3600).default(10),
    timeoutSeconds: z.number().finite().min(0.05).max(3600).default(20),
    gracePeriodSeconds: Seconds(3600).default(10),
    consecutiveFailures: z.number().int().min(0).max(1000).default(3),
    command: CommandInfo.optional(),
    http: z
      .object({ port: Port, path: z.string().max(1024).regex(/^\//, 'a path starts with /').default('/') })
      .optional(),
    tcp: z.object({ port: Port }).optional(),
  })
  .refine((h) => h.type !== 'COMMAND' || !!h.command, { message: 'a COMMAND health check needs a command' })
  .refine((h) => h.type !== 'HTTP' || !!h.http, { message: 'an HTTP health check needs http.port' })
  .refine((h) => h.type !== 'TCP' || !!h.tcp, { message: 'a TCP health check needs tcp.port' });
export type HealthCheck = z.infer<typeof HealthCheck>;
export type HealthCheckInput = z.input<typeof HealthCheck>;

/** TaskInfo is a task as a framework launches it; agentId is filled in from the offer. */
export const TaskInfo = z.object({
  taskId: Id,
  name: Name,
  agentId: Id.optional(),
  resources: Resources,
  command: CommandInfo,
  container: ContainerInfo.optional(),
  killPolicy: KillPolicy.optional(),
  /** POSIX resource limits the task runs under (`ulimit`); types may not repeat. */
  rlimits: z
    .array(Rlimit)
    .max(RLIMIT_TYPES.length)
    .refine((rs) => new Set(rs.map((r) => r.type)).size === rs.length, 'an rlimit type may appear only once')
    .optional(),
  healthCheck: HealthCheck.optional(),
  labels: Labels.optional(),
});
export type TaskInfo = z.infer<typeof TaskInfo>;
export type TaskInfoInput = z.input<typeof TaskInfo>;

/** TaskStatus is one observation of a task's state. Master-made statuses carry no uuid. */
export const TaskStatus = z.object({
  taskId: Id,
  state: TaskStateSchema,
  reason: ReasonSchema.optional(),
  source: SourceSchema,
  message: z.string().max(4096).optional(),
  agentId: Id.optional(),
  executorId: Id.optional(),
  uuid: z.string().max(64).optional(),
  timestamp: z.number().finite().nonnegative(),
  healthy: z.boolean().optional(),
  exitCode: z.number().int().optional(),
  signal: z.string().max(32).optional(),
});
export type TaskStatus = z.infer<typeof TaskStatus>;

/** Offer is a set of one agent's resources offered to one framework for one role. */
export const Offer = z.object({
  id: Id,
  frameworkId: Id,
  agentId: Id,
  hostname: z.string(),
  role: RoleName,
  resources: Resources,
  attributes: z.record(z.string(), z.string()).default({}),
});
export type Offer = z.infer<typeof Offer>;

/** Filters ride on ACCEPT and DECLINE: how long the unused resources are not offered again. */
export const Filters = z.object({
  refuseSeconds: z
    .number()
    .finite()
    .min(0)
    .max(365 * 24 * 3600)
    .default(5),
});
export type Filters = z.infer<typeof Filters>;

/**
 * Operation is one step of an ACCEPT, applied in order to the pooled offers: LAUNCH tasks;
 * RESERVE unreserved resources for the offers' role (each resource names that role) so that they
 * are offered only to it from then on; UNRESERVE reserved resources back to `*`. Resources
 * reserved or unreserved by an earlier operation can be launched on by a later one.
 */
export const Operation = z.discriminatedUnion('type', [
  z.object({ type: z.literal('LAUNCH'), tasks: z.array(TaskInfo).min(1).max(Limits.maxTasksPerAccept) }),
  z.object({ type: z.literal('RESERVE'), resources: Resources.min(1) }),
  z.object({ type: z.literal('UNRESERVE'), resources: Resources.min(1) }),
]);
export type Operation = z.infer<typeof Operation>;
export type OperationInput = z.input<typeof Operation>;
