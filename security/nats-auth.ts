import { natsPermissions } from './permissions.js';
import type { Principal } from './principal.js';

/** AuthEntry is one NATS user: a principal and the bcrypt hash of its password. */
export interface AuthEntry {
  principal: Principal;
  passwordHash: string;
}

/**
 * renderAuthorization writes nats-server's `authorization` block: one user per principal with its
 * bcrypt-hashed password and its subject permissions. Anonymous clients are refused because the
 * block lists users and names no `no_auth_user`. The values are JSON, which the server's config
 * parser reads, so names and hashes are quoted and never taken for variables.
 */
export function renderAuthorization(entries: readonly AuthEntry[], prefix: string): string {
  const users = entries.map((e) => ({
    user: e.principal.name,
    password: e.passwordHash,
    permissions: natsPermissions(e.principal, prefix),
  }));
  return `authorization {\n  users = ${JSON.stringify(users, null, 2).replaceAll('\n', '\n  ')}\n}\n`;
}
