import { existsSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import {
  type CredsFile,
  issueCredentials,
  loadOrCreateRegistry,
  type Registry,
  readCreds,
  type SecurityPaths,
  securityPaths,
  writePrivate,
} from './credentials.js';
import { renderAuthorization } from './nats-auth.js';
import { type Principal, PrincipalKind } from './principal.js';

/** The names `mezzo up` gives the principals it creates. */
export const MASTER_PRINCIPAL = 'master';
export const ADMIN_PRINCIPAL = 'admin';

/**
 * ensureCredentials makes sure a principal exists exactly as given with a readable creds file,
 * issuing fresh credentials when it is missing or has changed (an agent with a new id).
 */
export function ensureCredentials(paths: SecurityPaths, registry: Registry, principal: Principal): Registry {
  const existing = registry.principals.find((p) => p.principal.name === principal.name);
  if (
    existing &&
    isDeepStrictEqual(existing.principal, principal) &&
    existsSync(paths.creds(principal.name))
  ) {
    return registry;
  }
  const rest = {
    ...registry,
    principals: registry.principals.filter((p) => p.principal.name !== principal.name),
  };
  return issueCredentials(paths, rest, principal);
}

/** ClusterCredentials are what `mezzo up` hands its components, and nats-server's users. */
export interface ClusterCredentials {
  paths: SecurityPaths;
  registry: Registry;
  master: CredsFile;
  admin: CredsFile;
  agents: CredsFile[];
  /** nats-server's `authorization` block for every principal of the registry. */
  authorization: string;
}

/**
 * bootstrapCredentials prepares `<data>/security/` for a local cluster: a master, a superuser
 * `admin` operator (the CLI's identity), and one agent principal per agent id, keeping every
 * principal issued before (`mezzo creds add`).
 */
export function bootstrapCredentials(
  dataDir: string,
  prefix: string,
  agentIds: readonly string[],
): ClusterCredentials {
  const paths = securityPaths(dataDir);
  let registry = loadOrCreateRegistry(paths, prefix);
  if (registry.prefix !== prefix) registry = { ...registry, prefix };
  registry = ensureCredentials(paths, registry, { kind: PrincipalKind.MASTER, name: MASTER_PRINCIPAL });
  registry = ensureCredentials(paths, registry, {
    kind: PrincipalKind.OPERATOR,
    name: ADMIN_PRINCIPAL,
    readonly: false,
    superuser: true,
  });
  agentIds.forEach((agentId, i) => {
    registry = ensureCredentials(paths, registry, { kind: PrincipalKind.AGENT, name: `agent-${i}`, agentId });
  });
  writePrivate(paths.registry, `${JSON.stringify(registry, null, 2)}\n`);
  return {
    paths,
    registry,
    master: readCreds(paths.creds(MASTER_PRINCIPAL)),
    admin: readCreds(paths.creds(ADMIN_PRINCIPAL)),
    agents: agentIds.map((_, i) => readCreds(paths.creds(`agent-${i}`))),
    authorization: renderAuthorization(registry.principals, registry.prefix),
  };
}
