import { statSync } from 'node:fs';
import { readRegistry } from './credentials.js';
import { type Principal, PrincipalKind } from './principal.js';

/**
 * PrincipalDirectory tells the master who is behind a subject. NATS does not say who published a
 * message, but its permissions decide who could: only a principal bound to a framework id (or a
 * superuser) may publish that framework's calls, and only the named operator may publish on its
 * operator subjects. So the subject names the principal, and a header, which anyone can forge,
 * is never trusted.
 */
export interface PrincipalDirectory {
  /** The principal whose credentials may publish `frameworkId`'s calls; a superuser for an unbound id. */
  framework(frameworkId: string): Principal | undefined;
  /** The operator (or other principal) named by an operator subject. */
  byName(name: string): Principal | undefined;
}

/** directoryOf indexes a list of principals. */
export function directoryOf(principals: readonly Principal[]): PrincipalDirectory {
  const byFramework = new Map<string, Principal>();
  const byName = new Map<string, Principal>();
  let superuser: Principal | undefined;
  for (const p of principals) {
    byName.set(p.name, p);
    if (p.kind === PrincipalKind.FRAMEWORK) for (const id of p.frameworkIds) byFramework.set(id, p);
    if (p.kind === PrincipalKind.OPERATOR && p.superuser && !p.readonly) superuser ??= p;
  }
  return {
    framework: (id) => byFramework.get(id) ?? superuser,
    byName: (name) => byName.get(name),
  };
}

/**
 * fileDirectory serves a registry file (`principals.json`) and re-reads it when it changes, at
 * most once per `recheckMs`, so `mezzo creds add` reaches a running master without a restart.
 */
export function fileDirectory(
  path: string,
  recheckMs = 1000,
  now: () => number = Date.now,
): PrincipalDirectory {
  let mtime = -1;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let current = directoryOf([]);
  const refresh = () => {
    if (now() - checkedAt < recheckMs) return;
    checkedAt = now();
    const m = statSync(path).mtimeMs;
    if (m === mtime) return;
    current = directoryOf(readRegistry(path).principals.map((p) => p.principal));
    mtime = m;
  };
  refresh();
  return {
    framework(id) {
      refresh();
      return current.framework(id);
    },
    byName(name) {
      refresh();
      return current.byName(name);
    },
  };
}
