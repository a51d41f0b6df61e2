import { type Bus, type Logger, silentLogger } from '../../bus/index.js';
import {
  type AgentView,
  type FrameworkView,
  subjects as makeSubjects,
  OperatorCall,
  OperatorResult,
  type Subjects,
  type TaskView,
} from '../../protocol/index.js';
import { type BusSource, openBus } from './connection.js';

/** OperatorCallType names every operator call. */
export type OperatorCallType = OperatorCall['type'];

/** OperatorArgs are the fields of an operator call besides its type. */
export type OperatorArgs<T extends OperatorCallType> = Omit<Extract<OperatorCall, { type: T }>, 'type'>;

/** OperatorOptions connect an Operator client. */
export interface OperatorOptions {
  /** A NATS URL (the client opens and closes its own connection) or a Bus to share. */
  nats: BusSource;
  /** Subject prefix of the cluster; default `mezzo.v1`. */
  prefix?: string;
  log?: Logger;
  /** How long a call waits for the master (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * Operator is a typed client of the master's operator API: reads of the cluster's state, and the
 * operator's actions (kill a task, tear a framework down).
 */
export class Operator {
  private readonly timeoutMs: number;

  constructor(
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly owned = false,
    opts: { timeoutMs?: number } = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  /** connect opens an Operator client on a URL or a shared Bus. */
  static async connect(opts: OperatorOptions): Promise<Operator> {
    const { bus, owned } = await openBus(opts.nats, 'mezzo-operator', opts.log ?? silentLogger);
    return new Operator(bus, makeSubjects(opts.prefix), owned, { timeoutMs: opts.timeoutMs });
  }

  /**
   * call sends one operator call and returns its validated result; it rejects with the bus's
   * RemoteError when the master refuses and RequestTimeoutError when no master answers.
   */
  call<T extends OperatorCallType>(
    type: T,
    ...args: object extends OperatorArgs<T> ? [args?: OperatorArgs<T>] : [args: OperatorArgs<T>]
  ): Promise<OperatorResult<T>> {
    const call = { type, ...(args[0] ?? {}) } as OperatorCall;
    return this.bus.request(this.subjects.operator(), OperatorCall, call, OperatorResult[type], {
      timeoutMs: this.timeoutMs,
    }) as Promise<OperatorResult<T>>;
  }

  /** health says whether the master is up and leading. */
  health(): Promise<OperatorResult<'GET_HEALTH'>> {
    return this.call('GET_HEALTH');
  }

  /** version is the master's release and protocol generation. */
  version(): Promise<OperatorResult<'GET_VERSION'>> {
    return this.call('GET_VERSION');
  }

  /** state is the master's whole view: agents, frameworks and tasks. */
  state(): Promise<OperatorResult<'GET_STATE'>> {
    return this.call('GET_STATE');
  }

  /** agents lists the agents with their total, used and offered resources. */
  async agents(): Promise<AgentView[]> {
    return (await this.call('GET_AGENTS')).agents;
  }

  /** frameworks lists the frameworks the master knows. */
  async frameworks(): Promise<FrameworkView[]> {
    return (await this.call('GET_FRAMEWORKS')).frameworks;
  }

  /** tasks lists active and recently completed tasks, of one framework or all. */
  async tasks(frameworkId?: string): Promise<TaskView[]> {
    return (await this.call('GET_TASKS', frameworkId ? { frameworkId } : {})).tasks;
  }

  /** killTask kills a task on its framework's behalf; name the framework when task ids clash. */
  killTask(taskId: string, frameworkId?: string): Promise<OperatorResult<'KILL_TASK'>> {
    return this.call('KILL_TASK', { taskId, ...(frameworkId ? { frameworkId } : {}) });
  }

  /** teardown removes a framework and kills its tasks. */
  teardown(frameworkId: string): Promise<OperatorResult<'TEARDOWN'>> {
    return this.call('TEARDOWN', { frameworkId });
  }

  /** close closes the connection if this client opened it. */
  async close(): Promise<void> {
    if (this.owned) await this.bus.close();
  }
}
