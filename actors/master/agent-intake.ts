import { encode, type Logger, WorkerIntake } from '../../bus/index.js';
import { type AgentToMasterInput, MEZZO_VERSION } from '../../protocol/index.js';

/**
 * AgentIntakeConfig says where the master decodes and validates agent messages: large ones
 * (REGISTERs with their tasks, batches of status updates) in `workers` worker threads, with the
 * same AgentToMaster schema, so that its own thread only handles them.
 */
export interface AgentIntakeConfig {
  /** Worker threads (0: everything on the master's thread, as before). Env MEZZO_MASTER_INTAKE_WORKERS. */
  workers: number;
  /** Messages below this size stay on the master's thread. Env MEZZO_MASTER_INTAKE_MIN_BYTES. */
  minBytes: number;
}

/**
 * DEFAULT_AGENT_INTAKE: one worker (the master's own thread is the bottleneck when 10,000 agents
 * re-register; more workers only compete with it and nats-server for the cores), and 1 KiB, above
 * which handing a message over costs less than parsing it (a REGISTER of 10 tasks is 3.6 KB).
 */
export const DEFAULT_AGENT_INTAKE: AgentIntakeConfig = { workers: 1, minBytes: 1024 };

function wholeNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number >= 0, not "${raw}"`);
  return n;
}

/** agentIntakeConfig fills the config from what was given, then the environment, then defaults. */
export function agentIntakeConfig(
  given: Partial<AgentIntakeConfig> | undefined,
  env: Record<string, string | undefined>,
): AgentIntakeConfig {
  return {
    workers:
      given?.workers ??
      wholeNumber(
        'MEZZO_MASTER_INTAKE_WORKERS',
        env.MEZZO_MASTER_INTAKE_WORKERS,
        DEFAULT_AGENT_INTAKE.workers,
      ),
    minBytes:
      given?.minBytes ??
      wholeNumber(
        'MEZZO_MASTER_INTAKE_MIN_BYTES',
        env.MEZZO_MASTER_INTAKE_MIN_BYTES,
        DEFAULT_AGENT_INTAKE.minBytes,
      ),
  };
}

/**
 * WARM_UP_REGISTERS is how many times a warmed intake worker parses `sampleRegister()` before it
 * is ready: about 0.25 s of its CPU, once, while its master stands by. Cold, a worker took
 * 270-300 ms for its first 1,000 REGISTERs and 80-100 ms for each 1,000 after.
 */
export const WARM_UP_REGISTERS = 1000;

/**
 * sampleRegister is a REGISTER as an agent coming back after a failover sends it (10 running
 * tasks of 5 frameworks), encoded, for warming up an intake worker; it is parsed, never handled.
 */
export function sampleRegister(): Uint8Array {
  const agentId = 'warm-up-agent';
  const resources = [
    { name: 'cpus', scalar: 0.1 },
    { name: 'mem', scalar: 32 },
  ];
  const frameworks = Array.from({ length: 5 }, (_, f) => ({
    id: `warm-up-framework-${f}`,
    name: `warm-up-${f}`,
    failoverTimeoutSeconds: 3600,
  }));
  const register: AgentToMasterInput = {
    type: 'REGISTER',
    agent: {
      id: agentId,
      hostname: `${agentId}.local`,
      resources: [
        { name: 'cpus', scalar: 32 },
        { name: 'mem', scalar: 131072 },
        { name: 'ports', ranges: [[31000, 32000]] },
      ],
      attributes: { rack: 'a' },
      version: MEZZO_VERSION,
      capabilities: ['BATCHING'],
    },
    tasks: Array.from({ length: 10 }, (_, k) => ({
      frameworkId: frameworks[k % 5].id,
      task: {
        taskId: `warm-up-task-${k}`,
        name: 'warm-up',
        agentId,
        resources,
        command: { value: 'sleep 1d' },
      },
      status: {
        taskId: `warm-up-task-${k}`,
        agentId,
        state: 'TASK_RUNNING',
        source: 'SOURCE_EXECUTOR',
        uuid: `warm-up-uuid-${k}`,
        timestamp: 1,
      },
    })),
    frameworks,
  };
  return encode(register);
}

/**
 * startAgentIntake makes the intake of agent messages, or none when it has no workers. `warm`
 * (for a standby, whose worker has time to spare) warms each worker up on `sampleRegister()`.
 */
export function startAgentIntake(
  config: AgentIntakeConfig,
  log: Logger,
  opts: { warm?: boolean } = {},
): WorkerIntake | undefined {
  if (config.workers === 0) return undefined;
  return new WorkerIntake({
    schemaName: 'AgentToMaster',
    workers: config.workers,
    minBytes: config.minBytes,
    ...(opts.warm ? { warmUp: { sample: sampleRegister(), times: WARM_UP_REGISTERS } } : {}),
    log,
  });
}
