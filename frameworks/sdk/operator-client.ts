import { type Bus, type Logger, silentLogger, splitCredentials } from '../../bus/index.js';
import {
  type AgentRows,
  type AgentView,
  type FrameworkView,
  isReadOperatorCall,
  subjects as makeSubjects,
  OperatorCall,
  OperatorResult,
  type Resources,
  type RoleView,
  type StateView,
  type Subjects,
  type TasksView,
  type TaskView,
} from '../../protocol/index.js';
import { type BusSource, openBus } from './connection.js';
import { type TaskPage, TaskRowList } from './operator-rows.js';

/**
 * DEFAULT_PAGE_TASKS is how many tasks stateRows() and taskRows() ask for per page: a page costs
 * the master about 1-2 us a task on a loaded machine (40,000 agents), during which it allocates
 * nothing, so pages stay small: 5,000 tasks hold it 7 ms at the median and 14 ms at p90, 10,000
 * held it 9-14 and 20-30 ms (25,000 held it ~50 ms); a whole read takes as long either way, since
 * the next page is asked for ahead (bench/RESULTS.md).
 */
export const DEFAULT_PAGE_TASKS = 5_000;

/**
 * DEFAULT_PAGE_AGENTS is how many agents stateRows() asks for with each page: the agent table
 * comes a page at a time along with the tasks, since the table of 40,000 agents in one answer
 * held the master about 100 ms on a loaded machine (and allocation waited); 2,000 hold it a few ms.
 */
export const DEFAULT_PAGE_AGENTS = 2_000;

/** PageOptions tune a paged read. */
export interface PageOptions {
  /** Tasks per page at most (default DEFAULT_PAGE_TASKS). */
  pageTasks?: number;
  /** stateRows() only: agents per page at most (default DEFAULT_PAGE_AGENTS). */
  pageAgents?: number;
  /** Called as each page is read: where it starts, its rows, and how long its answer took (ms). */
  onPage?: (page: { from: number; rows: number; ms: number }) => void;
}

/**
 * StateRows is the master's whole state with its tasks as a TaskRowList: fetched page by page as
 * task tables, and made into TaskView objects only when asked.
 */
export type StateRows = Omit<
  StateView,
  'tasks' | 'taskTable' | 'agentTable' | 'nextTasksFrom' | 'nextAgentsFrom'
> & {
  tasks: TaskRowList;
};

/** PageCursor is where a page starts: its tasks and, when agents are paged too, its agents. */
interface PageCursor {
  tasksFrom: number;
  agentsFrom?: number;
}

/** PagedAnswer is a GET_STATE or GET_TASKS page as pagesOf reads it. */
type PagedAnswer = TasksView & Pick<StateView, 'agentTable' | 'totalAgents' | 'nextAgentsFrom'>;

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
  /**
   * The operator principal whose credentials the connection uses: calls then go on its own read
   * or write subject, by call type. Default: the user of a URL that carries credentials; absent,
   * calls go on the unsecured operator subject.
   */
  principal?: string;
}

/**
 * Operator is a typed client of the master's operator API: reads of the cluster's state, and the
 * operator's actions (kill a task, tear a framework down).
 */
export class Operator {
  private readonly timeoutMs: number;
  private readonly principal?: string;

  constructor(
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly owned = false,
    opts: { timeoutMs?: number; principal?: string } = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.principal = opts.principal;
  }

  /** connect opens an Operator client on a URL or a shared Bus. */
  static async connect(opts: OperatorOptions): Promise<Operator> {
    const { bus, owned } = await openBus(opts.nats, 'mezzo-operator', opts.log ?? silentLogger);
    // A URL with credentials (`nats://viewer:secret@host`) names the principal too.
    const fromUrl = typeof opts.nats === 'string' ? splitCredentials(opts.nats).user : undefined;
    return new Operator(bus, makeSubjects(opts.prefix), owned, {
      timeoutMs: opts.timeoutMs,
      principal: opts.principal ?? fromUrl,
    });
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
    return this.bus.request(this.subjectOf(type), OperatorCall, call, OperatorResult[type], {
      timeoutMs: this.timeoutMs,
    }) as Promise<OperatorResult<T>>;
  }

  /** subjectOf picks where a call goes: the principal's read subject for reads, write for the rest. */
  private subjectOf(type: OperatorCallType): string {
    if (!this.principal) return this.subjects.operator();
    return isReadOperatorCall(type)
      ? this.subjects.operatorRead(this.principal)
      : this.subjects.operatorWrite(this.principal);
  }

  /** health says whether the master is up and leading. */
  health(): Promise<OperatorResult<'GET_HEALTH'>> {
    return this.call('GET_HEALTH');
  }

  /** master says who leads, in which epoch, for how long, and how many agents it still waits for. */
  master(): Promise<OperatorResult<'GET_MASTER'>> {
    return this.call('GET_MASTER');
  }

  /** version is the master's release and protocol generation. */
  version(): Promise<OperatorResult<'GET_VERSION'>> {
    return this.call('GET_VERSION');
  }

  /**
   * state is the master's whole view: agents, frameworks and tasks (fetched as task tables, page
   * by page, and returned as TaskView objects). A large cluster's tasks are better read with
   * stateRows().
   */
  async state(): Promise<OperatorResult<'GET_STATE'>> {
    const s = await this.stateRows();
    return { ...s, tasks: s.tasks.toArray() };
  }

  /**
   * stateRows is state() with the tasks left as rows: the agents as agent tables (made into
   * AgentView objects) and every page of GET_STATE's tasks as a task table (`pageTasks` tasks per
   * page at most; the master may send fewer to keep a page within a message). Each page also
   * brings a page of the agents (`pageAgents` at most), and once the tasks are read, pages of
   * agents alone follow while any are left. The next page is asked for before this one is read,
   * so the master builds it while the client validates; pages are still separate reads, so tasks
   * and agents that come or go meanwhile may be missed or seen twice.
   */
  async stateRows(opts: PageOptions = {}): Promise<StateRows> {
    const pageTasks = opts.pageTasks ?? DEFAULT_PAGE_TASKS;
    const pageAgents = opts.pageAgents ?? DEFAULT_PAGE_AGENTS;
    const { first, tasks, agents } = await this.pagesOf(
      pageTasks,
      pageAgents,
      ({ tasksFrom, agentsFrom }) =>
        this.call('GET_STATE', {
          tasksFrom,
          maxTasks: pageTasks,
          tasksAs: 'table',
          agentsAs: 'table',
          ...(agentsFrom !== undefined ? { agentsFrom, maxAgents: pageAgents } : {}),
        }),
      opts.onPage,
    );
    const {
      tasks: _,
      taskTable: __,
      nextTasksFrom: ___,
      agentTable: ____,
      nextAgentsFrom: _____,
      ...head
    } = first as StateView;
    // Agents are few next to tasks: they are made into objects here (a master without tables sent objects).
    return {
      ...head,
      agents: agents.length > 0 ? agents.flatMap((rows) => rows.toArray()) : head.agents,
      tasks,
    };
  }

  /** taskRows lists active and recently completed tasks, of one framework or all, as rows (see stateRows). */
  async taskRows(frameworkId?: string, opts: PageOptions = {}): Promise<TaskRowList> {
    const pageTasks = opts.pageTasks ?? DEFAULT_PAGE_TASKS;
    const { tasks } = await this.pagesOf(
      pageTasks,
      undefined,
      ({ tasksFrom }) =>
        this.call('GET_TASKS', {
          ...(frameworkId ? { frameworkId } : {}),
          tasksFrom,
          maxTasks: pageTasks,
          tasksAs: 'table',
        }),
      opts.onPage,
    );
    return tasks;
  }

  /**
   * pagesOf asks for pages from the first until an answer names no next one, of tasks nor (with
   * `pageAgents`) of agents; past the last task, a page asks for agents only, from the end of the
   * tasks read. Once the master has said how many there are, it keeps one page ahead: while one
   * page travels and is checked, the one after it is already asked for (and asked again from
   * where the master says if that guess was wrong: a page it cut short to fit a message). A state
   * of one page costs one request.
   */
  private async pagesOf(
    pageTasks: number,
    pageAgents: number | undefined,
    ask: (cursor: PageCursor) => Promise<PagedAnswer>,
    onPage?: PageOptions['onPage'],
  ): Promise<{ first: PagedAnswer; tasks: TaskRowList; agents: AgentRows[] }> {
    const pages: TaskPage[] = [];
    const agents: AgentRows[] = [];
    const asked = (cursor: PageCursor) => {
      const at = performance.now();
      const answer = ask(cursor).then((page) => ({ page, ms: performance.now() - at }));
      answer.catch(() => {}); // a guess nobody reads must not be an unhandled rejection
      return { cursor, answer };
    };
    let current = asked(pageAgents === undefined ? { tasksFrom: 0 } : { tasksFrom: 0, agentsFrom: 0 });
    let ahead: ReturnType<typeof asked> | undefined;
    let first: PagedAnswer | undefined;
    for (;;) {
      const { page, ms } = await current.answer;
      first ??= page;
      const rows = page.taskTable ?? page.tasks; // a master without tables answers objects
      pages.push(rows);
      if (page.agentTable) agents.push(page.agentTable);
      const at = current.cursor;
      onPage?.({ from: at.tasksFrom, rows: rows.length, ms });
      const nextTasks = page.nextTasksFrom;
      // A master that does not page agents sent them all with the first page and names no next.
      const nextAgents = at.agentsFrom !== undefined ? page.nextAgentsFrom : undefined;
      if (nextTasks === undefined && nextAgents === undefined) break;
      if (nextTasks !== undefined && nextTasks <= at.tasksFrom) {
        throw new Error(
          `the master named page ${nextTasks} after page ${at.tasksFrom}: paging would not end`,
        );
      }
      if (nextAgents !== undefined && nextAgents <= (at.agentsFrom as number)) {
        throw new Error(
          `the master named agents from ${nextAgents} after agents from ${at.agentsFrom}: paging would not end`,
        );
      }
      const next: PageCursor = {
        tasksFrom: nextTasks ?? at.tasksFrom + rows.length,
        ...(nextAgents !== undefined ? { agentsFrom: nextAgents } : {}),
      };
      current = ahead && sameCursor(ahead.cursor, next) ? ahead : asked(next);
      // The page after: full pages of tasks and agents, where any are left.
      const tasksAfter =
        page.totalTasks !== undefined ? Math.min(page.totalTasks, next.tasksFrom + pageTasks) : undefined;
      const agentsAfter =
        next.agentsFrom !== undefined && pageAgents !== undefined && page.totalAgents !== undefined
          ? next.agentsFrom + pageAgents
          : undefined;
      const moreTasks =
        tasksAfter !== undefined && page.totalTasks !== undefined && page.totalTasks > tasksAfter;
      const moreAgents = agentsAfter !== undefined && (page.totalAgents as number) > agentsAfter;
      ahead =
        tasksAfter !== undefined && (moreTasks || moreAgents)
          ? asked({ tasksFrom: tasksAfter, ...(moreAgents ? { agentsFrom: agentsAfter } : {}) })
          : undefined;
    }
    return { first: first as PagedAnswer, tasks: new TaskRowList(pages), agents };
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
    return (await this.taskRows(frameworkId)).toArray();
  }

  /** killTask kills a task on its framework's behalf; name the framework when task ids clash. */
  killTask(taskId: string, frameworkId?: string): Promise<OperatorResult<'KILL_TASK'>> {
    return this.call('KILL_TASK', { taskId, ...(frameworkId ? { frameworkId } : {}) });
  }

  /** teardown removes a framework and kills its tasks. */
  teardown(frameworkId: string): Promise<OperatorResult<'TEARDOWN'>> {
    return this.call('TEARDOWN', { frameworkId });
  }

  /** markAgentGone removes an agent for good: its tasks end GONE_BY_OPERATOR and it is never readmitted. */
  markAgentGone(agentId: string): Promise<OperatorResult<'MARK_AGENT_GONE'>> {
    return this.call('MARK_AGENT_GONE', { agentId });
  }

  /** metrics are the master's and the allocator's numbers, Mesos-named (`master/agents_active`...). */
  metrics(): Promise<OperatorResult<'GET_METRICS'>> {
    return this.call('GET_METRICS');
  }

  /** roles lists the roles with their weight, quota, allocation and dominant share. */
  async roles(): Promise<RoleView[]> {
    return (await this.call('GET_ROLES')).roles;
  }

  /** weights lists the roles whose weight was set (others weigh 1). */
  weights(): Promise<OperatorResult<'GET_WEIGHTS'>> {
    return this.call('GET_WEIGHTS');
  }

  /** updateWeights sets the weights of some roles (`{ eng: 3 }`); all or none are applied. */
  updateWeights(weights: Readonly<Record<string, number>>): Promise<OperatorResult<'UPDATE_WEIGHTS'>> {
    return this.call('UPDATE_WEIGHTS', {
      weights: Object.entries(weights).map(([role, weight]) => ({ role, weight })),
    });
  }

  /** quota lists the roles that have a quota. */
  quota(): Promise<OperatorResult<'GET_QUOTA'>> {
    return this.call('GET_QUOTA');
  }

  /** updateQuota sets a top-level role's guarantee and limit; with neither it removes the quota. */
  updateQuota(
    role: string,
    quota: { guarantee?: Resources; limit?: Resources } = {},
  ): Promise<OperatorResult<'UPDATE_QUOTA'>> {
    return this.call('UPDATE_QUOTA', { role, ...quota });
  }

  /** reserve reserves unused resources of an agent, each naming its role (`cpus(eng):2`). */
  reserve(agentId: string, resources: Resources): Promise<OperatorResult<'RESERVE_RESOURCES'>> {
    return this.call('RESERVE_RESOURCES', { agentId, resources });
  }

  /** unreserve gives reserved, unused resources of an agent back to `*`. */
  unreserve(agentId: string, resources: Resources): Promise<OperatorResult<'UNRESERVE_RESOURCES'>> {
    return this.call('UNRESERVE_RESOURCES', { agentId, resources });
  }

  /**
   * containers lists the live containers with their resource statistics, gathered by the master
   * from every active agent (or one); agents that did not answer are listed in `unanswered`.
   */
  containers(
    filter: { agentId?: string; frameworkId?: string } = {},
  ): Promise<OperatorResult<'GET_CONTAINERS'>> {
    return this.call('GET_CONTAINERS', filter);
  }

  /** close closes the connection if this client opened it. */
  async close(): Promise<void> {
    if (this.owned) await this.bus.close();
  }
}

/** sameCursor says whether two pages start at the same tasks and agents. */
function sameCursor(a: PageCursor, b: PageCursor): boolean {
  return a.tasksFrom === b.tasksFrom && a.agentsFrom === b.agentsFrom;
}
