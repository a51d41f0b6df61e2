import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Action names what a principal asks to do (the Mesos authorization actions Mezzo checks). */
export const Action = {
  REGISTER_FRAMEWORK: 'REGISTER_FRAMEWORK',
  RUN_TASK: 'RUN_TASK',
  TEARDOWN_FRAMEWORK: 'TEARDOWN_FRAMEWORK',
  KILL_TASK: 'KILL_TASK',
  RESERVE_RESOURCES: 'RESERVE_RESOURCES',
  UNRESERVE_RESOURCES: 'UNRESERVE_RESOURCES',
  UPDATE_QUOTA: 'UPDATE_QUOTA',
  UPDATE_WEIGHT: 'UPDATE_WEIGHT',
  MARK_AGENT_GONE: 'MARK_AGENT_GONE',
  DRAIN_AGENT: 'DRAIN_AGENT',
  VIEW_FRAMEWORK: 'VIEW_FRAMEWORK',
} as const;
export type Action = (typeof Action)[keyof typeof Action];

/**
 * What each action's object is: a role (REGISTER_FRAMEWORK, RESERVE/UNRESERVE_RESOURCES,
 * UPDATE_QUOTA, UPDATE_WEIGHT), an OS user (RUN_TASK; "" is the agent's own user), the principal
 * of the framework acted on (TEARDOWN_FRAMEWORK, KILL_TASK, VIEW_FRAMEWORK) or an agent id
 * (MARK_AGENT_GONE, DRAIN_AGENT).
 */
export const ACTIONS = Object.values(Action) as [Action, ...Action[]];

const Names = z.union([z.literal('ANY'), z.array(z.string().max(256)).min(1).max(10_000)]);

/** Rule allows or denies some principals an action on some objects; `ANY` matches every name. */
export const Rule = z.strictObject({ principals: Names, objects: Names, allow: z.boolean() });
export type Rule = z.infer<typeof Rule>;

/**
 * Policy is the master's ACL file: per action, rules tried in order, the first that matches both
 * the principal and the object deciding. When none matches, the built-in defaults decide (see
 * authorize). Unknown keys are errors, so a misspelt action never silently allows.
 */
export const Policy = z.strictObject({
  rules: z.strictObject(
    Object.fromEntries(ACTIONS.map((a) => [a, z.array(Rule).max(10_000).optional()])) as {
      [K in Action]: z.ZodOptional<z.ZodArray<typeof Rule>>;
    },
  ),
});
export type Policy = z.infer<typeof Policy>;

/** DEFAULT_POLICY has no rules: the defaults alone decide. */
export const DEFAULT_POLICY: Policy = { rules: {} };

/** PolicyError is a policy file that cannot be read or does not validate; it says where and why. */
export class PolicyError extends Error {
  override name = 'PolicyError';
}

/** parsePolicy validates a policy document (JSON text), naming every problem with its path. */
export function parsePolicy(text: string, source = 'policy'): Policy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PolicyError(`${source} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = Policy.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 10)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new PolicyError(`${source} is invalid: ${issues}`);
  }
  return parsed.data;
}

/** loadPolicy reads and validates a policy file. */
export function loadPolicy(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PolicyError(`cannot read policy file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parsePolicy(text, `policy file ${path}`);
}
