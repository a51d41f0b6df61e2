/** DEFAULT_PREFIX is the versioned root of every Mezzo subject. */
export const DEFAULT_PREFIX = 'mezzo.v1';

/** PROTOCOL_VERSION names the schema generation the subjects carry. */
export const PROTOCOL_VERSION = 'v1';

const TOKEN = /^[A-Za-z0-9_-]+$/;
function token(kind: string, value: string): string {
  if (!TOKEN.test(value)) throw new Error(`${kind} "${value}" cannot be used in a subject`);
  return value;
}

/**
 * subjects builds every subject of one cluster under a prefix (default `mezzo.v1`), so two
 * clusters can share a NATS server. Nothing else in Mezzo writes a subject by hand.
 */
export function subjects(prefix: string = DEFAULT_PREFIX) {
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix))
    throw new Error(`invalid subject prefix "${prefix}"`);
  const p = prefix;
  return {
    prefix: p,
    /** Framework -> master calls (requests) of one framework. */
    scheduler: (frameworkId: string) => `${p}.master.scheduler.${token('framework id', frameworkId)}`,
    /** What the master subscribes to for every framework's calls. */
    schedulerAll: () => `${p}.master.scheduler.*`,
    /** Master -> framework events. */
    frameworkEvents: (frameworkId: string) => `${p}.framework.${token('framework id', frameworkId)}.events`,
    /** Agent -> master messages of one agent. */
    masterAgent: (agentId: string) => `${p}.master.agent.${token('agent id', agentId)}`,
    /** What the master subscribes to for every agent's messages. */
    masterAgentAll: () => `${p}.master.agent.*`,
    /** Master -> agent messages. */
    agent: (agentId: string) => `${p}.agent.${token('agent id', agentId)}.control`,
    /** Every agent's control subject: what a process hosting many simulated agents listens on. */
    agentAll: () => `${p}.agent.*.control`,
    /** The agent id of a control subject (`agent(agentId)`), as a listener on agentAll() gets it. */
    agentOf: (controlSubject: string) =>
      controlSubject.slice(`${p}.agent.`.length, controlSubject.length - '.control'.length),
    /** Executor -> agent messages for every executor of one agent. */
    agentExecutors: (agentId: string) => `${p}.agent.${token('agent id', agentId)}.executors`,
    /** Operator calls an agent answers itself (GET_CONTAINERS); the master relays to them too. */
    agentOperator: (agentId: string) => `${p}.agent.${token('agent id', agentId)}.operator`,
    /** Agent -> executor messages. */
    executor: (agentId: string, executorId: string) =>
      `${p}.executor.${token('agent id', agentId)}.${token('executor id', executorId)}`,
    /** A task's stdout and stderr, live. */
    taskOutput: (frameworkId: string, taskId: string) =>
      `${p}.output.${token('framework id', frameworkId)}.${token('task id', taskId)}`,
    /** Operator calls (requests). */
    operator: () => `${p}.master.operator`,
    /**
     * A master answers here for itself while it contends for the lease (HA): a standby whose
     * request finds no responder knows that master's process is gone and need not wait for its
     * lease to expire.
     */
    masterAlive: (masterId: string) => `${p}.master.alive.${token('master id', masterId)}`,
    /** The leading master announces itself and its epoch (HA). */
    leader: () => `${p}.leader`,
    /** The replicated registry's ops (a JetStream stream; only the leader writes). */
    registryOps: () => `${p}.registry.ops`,
    /** The replicated registry's snapshots. */
    registrySnapshot: () => `${p}.registry.snapshot`,
    /** Read-only operator calls of one principal; only that principal's NATS user may publish here. */
    operatorRead: (principal: string) => `${p}.master.operator.${token('principal', principal)}.read`,
    /** Operator calls that change the cluster, of one principal. */
    operatorWrite: (principal: string) => `${p}.master.operator.${token('principal', principal)}.write`,
    /** What the master subscribes to for every principal's read calls. */
    operatorReadAll: () => `${p}.master.operator.*.read`,
    /** What the master subscribes to for every principal's write calls. */
    operatorWriteAll: () => `${p}.master.operator.*.write`,
  };
}
export type Subjects = ReturnType<typeof subjects>;

/** lastToken returns the final token of a subject (the id in `...master.agent.<id>`). */
export function lastToken(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}
