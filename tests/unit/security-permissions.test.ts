import { describe, expect, it } from 'vitest';
import { splitCredentials, withCredentials } from '../../bus/index.js';
import { natsPermissions, renderAuthorization } from '../../security/index.js';

const P = 'mezzo.v1';

describe('natsPermissions', () => {
  it('lets a framework publish only its own calls and hear only its own events, output and replies', () => {
    expect(
      natsPermissions({ kind: 'framework', name: 'web', frameworkIds: ['fw-a', 'fw-b'], roles: ['web'] }, P),
    ).toEqual({
      publish: { allow: ['mezzo.v1.master.scheduler.fw-a', 'mezzo.v1.master.scheduler.fw-b'] },
      subscribe: {
        allow: [
          'mezzo.v1.framework.fw-a.events',
          'mezzo.v1.output.fw-a.*',
          'mezzo.v1.framework.fw-b.events',
          'mezzo.v1.output.fw-b.*',
          'mezzo.v1.leader',
          '_INBOX_web.>',
        ],
      },
    });
  });

  it('binds an agent to its own agent id on every subject it speaks or hears on', () => {
    const p = natsPermissions({ kind: 'agent', name: 'agent-0', agentId: 'a-1' }, P);
    expect(p.publish.allow).toEqual([
      'mezzo.v1.master.agent.a-1',
      'mezzo.v1.agent.a-1.executors',
      'mezzo.v1.executor.a-1.*',
      'mezzo.v1.output.*.*',
    ]);
    expect(p.subscribe.allow).toEqual([
      'mezzo.v1.agent.a-1.>',
      'mezzo.v1.executor.a-1.*',
      'mezzo.v1.leader',
      '_INBOX_agent-0.>',
    ]);
    expect(p.allow_responses).toBe(true);
  });

  it('gives a read-only operator its read subject only, and a read-write one its write subject too', () => {
    expect(
      natsPermissions({ kind: 'operator', name: 'viewer', readonly: true, superuser: false }, P),
    ).toEqual({
      publish: { allow: ['mezzo.v1.master.operator.viewer.read'] },
      subscribe: { allow: ['_INBOX_viewer.>'] },
    });
    expect(
      natsPermissions({ kind: 'operator', name: 'ops', readonly: false, superuser: false }, P).publish.allow,
    ).toEqual(['mezzo.v1.master.operator.ops.read', 'mezzo.v1.master.operator.ops.write', 'mezzo.v1.apps.*']);
  });

  it('lets a superuser act as any framework, and the master do anything', () => {
    const admin = natsPermissions({ kind: 'operator', name: 'admin', readonly: false, superuser: true }, P);
    expect(admin.publish.allow).toContain('mezzo.v1.master.scheduler.*');
    expect(admin.subscribe.allow).toEqual([
      '_INBOX_admin.>',
      'mezzo.v1.framework.*.events',
      'mezzo.v1.output.*.*',
      'mezzo.v1.leader',
    ]);
    expect(natsPermissions({ kind: 'master', name: 'master' }, P).publish.allow).toEqual(['>']);
  });
});

describe('renderAuthorization', () => {
  it('writes one user per principal with its hash and permissions, quoted so $ is not a variable', () => {
    const text = renderAuthorization(
      [{ principal: { kind: 'master', name: 'master' }, passwordHash: '$2a$10$abcdefghijklmnopqrstuv' }],
      P,
    );
    expect(text.startsWith('authorization {\n  users = [')).toBe(true);
    expect(text).toContain('"password": "$2a$10$abcdefghijklmnopqrstuv"');
    expect(text).toContain('"user": "master"');
    expect(text).not.toContain('no_auth_user');
  });
});

describe('credentials in NATS URLs (how executors are handed their agent credentials)', () => {
  it('puts a user and password into each URL and takes them out again', () => {
    const urls = withCredentials('nats://127.0.0.1:4222,nats://127.0.0.1:4223', 'agent-0', 'p@ss:w/rd');
    expect(urls).toEqual([
      'nats://agent-0:p%40ss%3Aw%2Frd@127.0.0.1:4222',
      'nats://agent-0:p%40ss%3Aw%2Frd@127.0.0.1:4223',
    ]);
    expect(splitCredentials(urls)).toEqual({
      servers: ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4223'],
      user: 'agent-0',
      pass: 'p@ss:w/rd',
    });
  });

  it('leaves URLs without credentials alone', () => {
    expect(splitCredentials('nats://127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'] });
  });
});
