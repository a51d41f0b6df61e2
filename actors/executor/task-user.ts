import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';

/** TaskUser is the OS account a task runs as, from the passwd database. */
export interface TaskUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** parsePasswd reads one `name:x:uid:gid:gecos:home:shell` line; undefined when it is not one. */
export function parsePasswd(line: string): TaskUser | undefined {
  const f = line.trim().split(':');
  if (f.length < 7) return undefined;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid < 0 || gid < 0) return undefined;
  return { name: f[0], uid, gid, home: f[5] };
}

/** lookupUser asks the passwd database (`getent passwd`, so LDAP and the like count too). */
export function lookupUser(name: string): TaskUser | undefined {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8', timeout: 5000 });
  if (r.error || r.status !== 0) return undefined;
  return parsePasswd(r.stdout.split('\n')[0] ?? '');
}

/** UserSwitch is how a task is started as its user: a wrapper in front of it, or why it cannot be. */
export type UserSwitch =
  | { kind: 'same' }
  | { kind: 'switch'; user: TaskUser; wrapper: string[] }
  | { kind: 'refused'; code: string; message: string };

/**
 * userSwitch decides how a task whose command names `user` is started (Mesos runs a task as its
 * CommandInfo.user; the master has already checked the framework may ask for it). The agent's own
 * user needs nothing; another needs root, and is entered with util-linux `setpriv` as the last
 * step before the task's program, after the launch wrappers have placed it in its cgroups and
 * namespaces (which only root may do).
 */
export function userSwitch(
  user: string | undefined,
  self: { uid: number; name: string },
  lookup: (name: string) => TaskUser | undefined,
): UserSwitch {
  if (!user || user === self.name) return { kind: 'same' };
  const found = lookup(user);
  if (!found)
    return { kind: 'refused', code: 'ENOUSER', message: `user ${user} does not exist on this agent` };
  if (found.uid === self.uid) return { kind: 'same' };
  if (self.uid !== 0)
    return {
      kind: 'refused',
      code: 'EPERM',
      message: `the agent runs as ${self.name}, not root, so it cannot run a task as ${user}`,
    };
  return {
    kind: 'switch',
    user: found,
    wrapper: ['setpriv', `--reuid=${found.uid}`, `--regid=${found.gid}`, '--init-groups', '--'],
  };
}

/**
 * selfUser is who the executor runs as. A host (or a FROM-scratch image) without a passwd entry
 * for it has no name: the uid stands in.
 */
export function selfUser(
  uid: number = process.getuid?.() ?? -1,
  info: () => { username: string } = userInfo,
): { uid: number; name: string } {
  try {
    return { uid, name: info().username };
  } catch {
    return { uid, name: String(uid) };
  }
}
