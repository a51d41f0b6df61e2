import { type Logger, WorkerIntake } from '../../bus/index.js';

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

/** startAgentIntake makes the intake of agent messages, or none when it has no workers. */
export function startAgentIntake(config: AgentIntakeConfig, log: Logger): WorkerIntake | undefined {
  if (config.workers === 0) return undefined;
  return new WorkerIntake({
    schemaName: 'AgentToMaster',
    workers: config.workers,
    minBytes: config.minBytes,
    log,
  });
}
