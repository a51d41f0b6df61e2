import { describe, expect, it } from 'vitest';
import { parsePasswd, selfUser, type TaskUser, userSwitch } from '../../actors/executor/task-user.js';
import { dockerCreateOptions } from '../../isolation/index.js';

const users: Record<string, TaskUser> = {
  nobody: { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' },
  root: { name: 'root', uid: 0, gid: 0, home: '/root' },
  alias: { name: 'alias', uid: 1000, gid: 1000, home: '/home/alias' },
};
const lookup = (n: string) => users[n];

describe('running a task as its user', () => {
  it('reads passwd lines, and refuses what is not one', () => {
    expect(parsePasswd('nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin')).toEqual(users.nobody);
    expect(parsePasswd('broken:x:abc:1::/:/bin/sh')).toBeUndefined();
    expect(parsePasswd('short:x:1')).toBeUndefined();
  });

  it.each([
    ['no user named', undefined, { uid: 0, name: 'root' }, { kind: 'same' }],
    ["the agent's own user", 'root', { uid: 0, name: 'root' }, { kind: 'same' }],
    ['another name for the same uid', 'alias', { uid: 1000, name: 'me' }, { kind: 'same' }],
    [
      'another user, agent root',
      'nobody',
      { uid: 0, name: 'root' },
      {
        kind: 'switch',
        user: users.nobody,
        wrapper: ['setpriv', '--reuid=65534', '--regid=65534', '--init-groups', '--'],
      },
    ],
    [
      'another user, agent not root',
      'nobody',
      { uid: 1000, name: 'me' },
      {
        kind: 'refused',
        code: 'EPERM',
        message: 'the agent runs as me, not root, so it cannot run a task as nobody',
      },
    ],
    [
      'a user the agent does not know',
      'ghost',
      { uid: 0, name: 'root' },
      { kind: 'refused', code: 'ENOUSER', message: 'user ghost does not exist on this agent' },
    ],
  ])('%s', (_what, user, self, want) => {
    expect(userSwitch(user, self, lookup)).toEqual(want);
  });

  it('names the agent by uid where the passwd database does not know it (a FROM-scratch image)', () => {
    expect(selfUser(0, () => ({ username: 'root' }))).toEqual({ uid: 0, name: 'root' });
    const noPasswd = () => {
      throw new Error('ENOENT: no such file or directory, uv_os_get_passwd');
    };
    expect(selfUser(0, noPasswd)).toEqual({ uid: 0, name: '0' });
  });

  it('gives a DOCKER task its user as the container user', () => {
    const spec = {
      image: 'i',
      shell: true,
      value: 'id',
      env: {},
      cpus: 1,
      memMb: 32,
      sandbox: '/s',
      agentId: 'a',
      frameworkId: 'f',
      taskId: 't',
      executorId: 't',
      containerId: 'c',
    };
    expect(dockerCreateOptions({ ...spec, user: '65534:65534' }).User).toBe('65534:65534');
    expect(dockerCreateOptions(spec).User).toBeUndefined();
  });
});
