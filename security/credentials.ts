import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import bcrypt from 'bcryptjs';
import { z } from 'zod';
import { Principal } from './principal.js';

/**
 * CredsFile is what a component reads to connect (`--creds FILE`, `MEZZO_CREDS`): its NATS user and
 * password and the principal they stand for. It is written mode 0600.
 */
export const CredsFile = z.object({
  user: z.string().min(1),
  password: z.string().min(1),
  principal: Principal,
});
export type CredsFile = z.infer<typeof CredsFile>;

/** Registry is `<data>/security/principals.json`: every principal of a cluster and its password hash. */
export const Registry = z.object({
  prefix: z.string().min(1),
  principals: z.array(z.object({ principal: Principal, passwordHash: z.string().min(1) })),
});
export type Registry = z.infer<typeof Registry>;

/** CredentialsError is a creds or registry file that is missing or does not parse. */
export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

/** generatePassword draws a fresh random password (192 bits, base64url). */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * hashPassword is the bcrypt hash nats-server checks a password against. The `$2a$` form is the
 * one every nats-server release recognises; for passwords under 72 bytes it equals `$2b$`.
 */
export function hashPassword(password: string, rounds = 10): string {
  return bcrypt.hashSync(password, rounds).replace(/^\$2b\$/, '$2a$');
}

/** writePrivate writes a file only its owner can read, atomically (write, then rename). */
export function writePrivate(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function readJson<S extends z.ZodType>(path: string, schema: S, what: string): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CredentialsError(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CredentialsError(`${what} ${path} is invalid: ${issues}`);
  }
  return parsed.data;
}

/** readCreds reads and validates a creds file. */
export function readCreds(path: string): CredsFile {
  return readJson(path, CredsFile, 'creds file');
}

/** readRegistry reads a cluster's principals file. */
export function readRegistry(path: string): Registry {
  return readJson(path, Registry, 'principals file');
}

/** SecurityPaths are where a data dir keeps its security files. */
export interface SecurityPaths {
  dir: string;
  registry: string;
  credsDir: string;
  creds(name: string): string;
}

/** securityPaths lays out `<data>/security/`: the registry and one creds file per principal. */
export function securityPaths(dataDir: string): SecurityPaths {
  const dir = join(dataDir, 'security');
  const credsDir = join(dir, 'creds');
  return {
    dir,
    registry: join(dir, 'principals.json'),
    credsDir,
    creds: (name) => join(credsDir, `${name}.json`),
  };
}

/**
 * issueCredentials adds a principal to a registry (a fresh password, hashed), writes its creds
 * file and the registry, and returns the new registry. A name that is taken is refused and
 * nothing is written.
 */
export function issueCredentials(paths: SecurityPaths, registry: Registry, principal: Principal): Registry {
  if (registry.principals.some((p) => p.principal.name === principal.name)) {
    throw new CredentialsError(`a principal named ${principal.name} already exists`);
  }
  const password = generatePassword();
  const next: Registry = {
    ...registry,
    principals: [...registry.principals, { principal, passwordHash: hashPassword(password) }],
  };
  writePrivate(
    paths.creds(principal.name),
    `${JSON.stringify({ user: principal.name, password, principal }, null, 2)}\n`,
  );
  writePrivate(paths.registry, `${JSON.stringify(next, null, 2)}\n`);
  return next;
}

/** loadOrCreateRegistry reads the data dir's registry, or starts an empty one for `prefix`. */
export function loadOrCreateRegistry(paths: SecurityPaths, prefix: string): Registry {
  return existsSync(paths.registry) ? readRegistry(paths.registry) : { prefix, principals: [] };
}
