import { z } from 'zod';
import { inboxPrefixFor } from '../bus/index.js';
import { Id, RoleName } from '../protocol/index.js';

/** PrincipalKind names the four kinds of identity that may talk to a cluster. */
export const PrincipalKind = {
  MASTER: 'master',
  AGENT: 'agent',
  FRAMEWORK: 'framework',
  OPERATOR: 'operator',
} as const;
export type PrincipalKind = (typeof PrincipalKind)[keyof typeof PrincipalKind];

/**
 * PrincipalName is a principal's NATS user name. It also names the principal's inbox prefix
 * (`_INBOX_<name>`) and its operator subjects, so it must be a single subject token.
 */
export const PrincipalName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/,
    'must be 1-64 letters, digits, "_" or "-", starting with a letter or digit',
  );

/**
 * Principal is one identity and what its credentials bind it to: an agent to its agent id, a
 * framework to the framework ids and roles it may use, an operator to read-only or read-write
 * calls. A superuser operator may also act as any framework (what `mezzo run` needs).
 */
export const Principal = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal(PrincipalKind.MASTER), name: PrincipalName }),
  z.object({ kind: z.literal(PrincipalKind.AGENT), name: PrincipalName, agentId: Id }),
  z.object({
    kind: z.literal(PrincipalKind.FRAMEWORK),
    name: PrincipalName,
    frameworkIds: z.array(Id).min(1).max(1024),
    roles: z.array(RoleName).min(1).max(64),
  }),
  z.object({
    kind: z.literal(PrincipalKind.OPERATOR),
    name: PrincipalName,
    readonly: z.boolean().default(false),
    superuser: z.boolean().default(false),
  }),
]);
export type Principal = z.infer<typeof Principal>;
export type PrincipalInput = z.input<typeof Principal>;

/** inboxPrefix is the prefix of a principal's reply subjects; only it may subscribe below it. */
export function inboxPrefix(name: string): string {
  return inboxPrefixFor(name);
}
