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
 * fileDirectory serves a registry file (`principals.json`) and re-reads it when it changes, so
 * `mezzo creds add` reaches a running master without a restart. It looks (one stat) at most once
 * per `recheckMs`; the default, 0, looks on every lookup, so that a framework id bound a moment ago
 * is never taken for an unbound one (which a superuser would own).
 */
export function fileDirectory(path: string, recheckMs = 0, now: () => number = Date.now): PrincipalDirectory {
  let version = '';
  let checkedAt = Number.NEGATIVE_INFINITY;
  let current = directoryOf([]);
  const refresh = () => {
    if (now() - checkedAt < recheckMs) return;
    checkedAt = now();
    // The registry is replaced by rename: a new inode tells a new version even within one mtime tick.
    const st = statSync(path);
    const v = `${st.ino}:${st.mtimeMs}:${st.size}`;
    if (v === version) return;
    try {
      current = directoryOf(readRegistry(path).principals.map((p) => p.principal));
      version = v;
    } catch (err) {
      // A registry edited into something invalid keeps the last good one in force (and is retried).
      if (!version) throw err;
    }
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
