import { Action, type Policy, type Rule } from './policy.js';
import { type Principal, PrincipalKind } from './principal.js';

/** Decision is authorize's answer: allowed, or denied with a reason a caller can read. */
export type Decision = { allowed: true } | { allowed: false; reason: string };

const ALLOW: Decision = { allowed: true };
const deny = (reason: string): Decision => ({ allowed: false, reason });

const matches = (names: Rule['principals'], name: string) => names === 'ANY' || names.includes(name);

/**
 * authorize decides whether a principal may take an action on an object. The policy's rules for
 * the action are tried in order and the first matching one decides; otherwise the defaults do:
 * a superuser operator may do anything; a framework may register in and reserve for only the roles
 * its credentials name and act only on itself; tasks run as the agent's own user (object "") and
 * as nobody else; a read-write operator may tear down, kill, reserve, set quota and weights and
 * mark agents gone; every operator may view every framework.
 */
export function authorize(policy: Policy, principal: Principal, action: Action, object: string): Decision {
  for (const rule of policy.rules[action] ?? []) {
    if (!matches(rule.principals, principal.name) || !matches(rule.objects, object)) continue;
    return rule.allow ? ALLOW : deny(`policy denies ${principal.name} ${action} on ${describe(object)}`);
  }
  return byDefault(principal, action, object);
}

function describe(object: string): string {
  return object === '' ? "the agent's user" : `"${object}"`;
}

function byDefault(p: Principal, action: Action, object: string): Decision {
  if (p.kind === PrincipalKind.OPERATOR && p.superuser && !p.readonly) return ALLOW;
  const what = `${p.kind} ${p.name} may not ${action} on ${describe(object)}`;
  switch (action) {
    case Action.RUN_TASK:
      return object === ''
        ? ALLOW
        : deny(`${what}: tasks run as the agent's user unless a policy rule allows RUN_TASK as "${object}"`);
    case Action.REGISTER_FRAMEWORK:
    case Action.RESERVE_RESOURCES:
    case Action.UNRESERVE_RESOURCES:
      if (p.kind === PrincipalKind.FRAMEWORK) {
        return p.roles.includes(object)
          ? ALLOW
          : deny(`${what}: its credentials allow only roles ${p.roles.join(', ')}`);
      }
      if (action !== Action.REGISTER_FRAMEWORK && p.kind === PrincipalKind.OPERATOR && !p.readonly)
        return ALLOW;
      return deny(what);
    case Action.TEARDOWN_FRAMEWORK:
    case Action.KILL_TASK:
    case Action.VIEW_FRAMEWORK:
      if (p.kind === PrincipalKind.FRAMEWORK) return object === p.name ? ALLOW : deny(`${what}: not its own`);
      if (p.kind === PrincipalKind.OPERATOR && (action === Action.VIEW_FRAMEWORK || !p.readonly))
        return ALLOW;
      return deny(p.kind === PrincipalKind.OPERATOR ? `${what}: the operator is read-only` : what);
    case Action.UPDATE_QUOTA:
    case Action.UPDATE_WEIGHT:
    case Action.MARK_AGENT_GONE:
    case Action.DRAIN_AGENT:
      if (p.kind === PrincipalKind.OPERATOR && !p.readonly) return ALLOW;
      return deny(p.kind === PrincipalKind.OPERATOR ? `${what}: the operator is read-only` : what);
  }
}
