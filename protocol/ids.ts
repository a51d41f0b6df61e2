import { z } from 'zod';

/**
 * Ids travel inside NATS subjects and sandbox paths, so they are restricted to characters that are
 * safe in both: no dots (subject separators), no slashes, no wildcards, no `..`.
 */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Id is the schema for every framework, agent, task, offer and executor id. */
export const Id = z
  .string()
  .regex(
    ID_PATTERN,
    'must be 1-128 characters of letters, digits, "_" or "-", starting with a letter or digit',
  );

/** RoleName is a role such as `eng` or `eng/backend`; `*` is the default (unreserved) role. */
export const RoleName = z
  .string()
  .max(128)
  .regex(/^(\*|[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*)$/, 'is not a valid role name');

/** DEFAULT_ROLE is the role of unreserved resources and of frameworks that name none. */
export const DEFAULT_ROLE = '*';
