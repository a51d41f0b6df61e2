import { BusError } from '../../bus/index.js';
import {
  isReadOperatorCall,
  type Operation,
  type OperatorCall,
  Reason,
  type SchedulerCall,
  Source,
  TaskState,
  type TaskStatus,
} from '../../protocol/index.js';
import {
  Action,
  authorize,
  type Policy,
  type Principal,
  type PrincipalDirectory,
} from '../../security/index.js';
import { MasterError } from './effects.js';
import type { CallLimiter } from './rate-limit.js';

/** MasterSecurity is what a master enforces when the cluster runs with credentials. */
export interface MasterSecurity {
  /** Who is behind each framework id and operator subject (from the credentials it issued). */
  directory: PrincipalDirectory;
  policy: Policy;
}

/** OperatorChannel is the subject an operator call came on: its principal's read or write subject. */
export type OperatorChannel = { principal: string; write: boolean } | 'legacy';

const forbid = (message: string) => new MasterError('FORBIDDEN', message);

function check(policy: Policy, principal: Principal, action: Action, object: string): void {
  const d = authorize(policy, principal, action, object);
  if (!d.allowed) throw forbid(d.reason);
}

/** frameworkPrincipal finds the principal behind a framework id, or refuses the call. */
export function frameworkPrincipal(sec: MasterSecurity, frameworkId: string): Principal {
  const p = sec.directory.framework(frameworkId);
  if (!p) throw forbid(`no principal may use framework id ${frameworkId}`);
  return p;
}

/** AuthorizedCall is a scheduler call as the master will run it, and tasks refused on the way. */
export interface AuthorizedCall {
  call: SchedulerCall;
  /** TASK_ERROR statuses for tasks the principal may not launch; they were taken out of the call. */
  refused: TaskStatus[];
}

/**
 * authorizeSchedulerCall checks a framework's call against its principal before the master sees
 * it: SUBSCRIBE only in roles the principal may register in (the call is refused whole, so the
 * framework gets no offers) and with the principal recorded in its FrameworkInfo; RESERVE and
 * UNRESERVE only for allowed roles; each LAUNCHed task only as a user the principal may run tasks
 * as; a task that may not is taken out of the call and answered TASK_ERROR with the reason.
 */
export function authorizeSchedulerCall(
  sec: MasterSecurity,
  frameworkId: string,
  call: SchedulerCall,
  now: number,
): AuthorizedCall {
  const principal = frameworkPrincipal(sec, frameworkId);
  if (call.type === 'SUBSCRIBE') {
    for (const role of call.framework.roles) check(sec.policy, principal, Action.REGISTER_FRAMEWORK, role);
    return { call: { ...call, framework: { ...call.framework, principal: principal.name } }, refused: [] };
  }
  if (call.type !== 'ACCEPT') return { call, refused: [] };
  const refused: TaskStatus[] = [];
  const operations = call.operations.flatMap((op): Operation[] => {
    if (op.type === 'RESERVE' || op.type === 'UNRESERVE') {
      const action = op.type === 'RESERVE' ? Action.RESERVE_RESOURCES : Action.UNRESERVE_RESOURCES;
      for (const r of op.resources) check(sec.policy, principal, action, r.role ?? '*');
      return [op];
    }
    const tasks = op.tasks.filter((task) => {
      const d = authorize(sec.policy, principal, Action.RUN_TASK, task.command.user ?? '');
      if (d.allowed) return true;
      refused.push({
        taskId: task.taskId,
        state: TaskState.ERROR,
        reason: Reason.TASK_UNAUTHORIZED,
        source: Source.MASTER,
        message: d.reason,
        timestamp: now,
      });
      return false;
    });
    return tasks.length ? [{ ...op, tasks }] : [];
  });
  return { call: { ...call, operations }, refused };
}

/**
 * authorizeOperatorCall checks an operator call against the subject it came on and the policy: a
 * write call on a read subject is refused (that is all a read-only operator can publish on), and
 * each write is checked against its objects. On a secured master the legacy operator subject
 * names no principal and is refused. Returns the caller, for filtering what it may view.
 */
export function authorizeOperatorCall(
  sec: MasterSecurity,
  channel: OperatorChannel,
  call: OperatorCall,
): Principal {
  if (channel === 'legacy') {
    throw forbid(
      "operator calls must be sent on the principal's own operator subject (…operator.<principal>.read|write)",
    );
  }
  const principal = sec.directory.byName(channel.principal);
  if (!principal) throw forbid(`principal ${channel.principal} is unknown`);
  const read = isReadOperatorCall(call.type);
  if (!read && !channel.write) {
    throw forbid(
      `${call.type} changes the cluster: send it on the write subject; ${principal.name} may be read-only`,
    );
  }
  const owner = (frameworkId: string) => sec.directory.framework(frameworkId)?.name ?? '';
  const p = sec.policy;
  switch (call.type) {
    case 'KILL_TASK':
      check(p, principal, Action.KILL_TASK, call.frameworkId ? owner(call.frameworkId) : 'ANY');
      break;
    case 'TEARDOWN':
      check(p, principal, Action.TEARDOWN_FRAMEWORK, owner(call.frameworkId));
      break;
    case 'MARK_AGENT_GONE':
      check(p, principal, Action.MARK_AGENT_GONE, call.agentId);
      break;
    case 'UPDATE_WEIGHTS':
      for (const w of call.weights) check(p, principal, Action.UPDATE_WEIGHT, w.role);
      break;
    case 'UPDATE_QUOTA':
      check(p, principal, Action.UPDATE_QUOTA, call.role);
      break;
    case 'RESERVE_RESOURCES':
    case 'UNRESERVE_RESOURCES': {
      const action =
        call.type === 'RESERVE_RESOURCES' ? Action.RESERVE_RESOURCES : Action.UNRESERVE_RESOURCES;
      for (const r of call.resources) check(p, principal, action, r.role ?? '*');
      break;
    }
    default:
      if (!read) throw forbid(`${call.type} is not covered by the master's authorization; refused`);
  }
  return principal;
}

/**
 * filterViewable drops from a read's result the frameworks, tasks and containers of frameworks the caller may
 * not view (VIEW_FRAMEWORK on the framework's principal). Other results pass unchanged.
 */
export function filterViewable(sec: MasterSecurity, principal: Principal, result: unknown): unknown {
  const may = (frameworkId: string) =>
    authorize(sec.policy, principal, Action.VIEW_FRAMEWORK, sec.directory.framework(frameworkId)?.name ?? '')
      .allowed;
  if (!result || typeof result !== 'object') return result;
  const r = result as {
    frameworks?: { id: string }[];
    tasks?: { frameworkId: string }[];
    containers?: { frameworkId: string }[];
  };
  return {
    ...r,
    ...(Array.isArray(r.frameworks) ? { frameworks: r.frameworks.filter((f) => may(f.id)) } : {}),
    ...(Array.isArray(r.tasks) ? { tasks: r.tasks.filter((t) => may(t.frameworkId)) } : {}),
    ...(Array.isArray(r.containers) ? { containers: r.containers.filter((c) => may(c.frameworkId)) } : {}),
  };
}

/** CallGuard is what the master runtime runs on every framework and operator call before the actor sees it. */
export interface CallGuard {
  /** Charges the caller's rate limit and authorizes; throws a BusError (FORBIDDEN, RATE_LIMITED). */
  scheduler(frameworkId: string, call: SchedulerCall, now: number): AuthorizedCall;
  /** Same for an operator call on `subject`; returns the caller when the master is secured. */
  operator(subject: string, call: OperatorCall): Principal | undefined;
  /** Filters a read's result down to what the caller may view. */
  view(caller: Principal | undefined, result: unknown): unknown;
}

/** operatorChannel reads the principal and read/write out of an operator subject. */
export function operatorChannel(subject: string, legacySubject: string): OperatorChannel {
  if (subject === legacySubject) return 'legacy';
  const tokens = subject.split('.');
  return { principal: tokens[tokens.length - 2], write: tokens[tokens.length - 1] === 'write' };
}

const asBusError = (err: unknown) =>
  err instanceof MasterError ? new BusError(err.message, err.code, { cause: err }) : err;

/**
 * createCallGuard binds authorization and rate limiting for a master. Without security every
 * call is allowed (a test cluster), except that writes never go on a read subject; without a
 * limiter nothing is rate limited.
 */
export function createCallGuard(
  security: MasterSecurity | undefined,
  limiter: CallLimiter | undefined,
  legacyOperatorSubject: string,
): CallGuard {
  return {
    scheduler(frameworkId, call, now) {
      try {
        const principal = security ? frameworkPrincipal(security, frameworkId) : undefined;
        limiter?.charge(principal ? principal.name : `framework ${frameworkId}`);
        return security ? authorizeSchedulerCall(security, frameworkId, call, now) : { call, refused: [] };
      } catch (err) {
        throw asBusError(err);
      }
    },
    operator(subject, call) {
      try {
        const channel = operatorChannel(subject, legacyOperatorSubject);
        limiter?.charge(channel === 'legacy' ? 'operator' : channel.principal);
        if (security) return authorizeOperatorCall(security, channel, call);
        if (channel !== 'legacy' && !channel.write && !isReadOperatorCall(call.type)) {
          throw forbid(`${call.type} changes the cluster: send it on the write subject`);
        }
        return undefined;
      } catch (err) {
        throw asBusError(err);
      }
    },
    view(caller, result) {
      return security && caller ? filterViewable(security, caller, result) : result;
    },
  };
}
