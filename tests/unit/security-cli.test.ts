import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadIdentity } from '../../actors/agent/index.js';
import { bindIdentity } from '../../cli/commands/agent.js';
import { principalFrom } from '../../cli/commands/creds.js';
import { masterSecurity } from '../../cli/commands/master.js';
import { CliError } from '../../cli/errors.js';
import type { CredsFile } from '../../security/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mezzo-cli-sec-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('mezzo creds add: principalFrom', () => {
  it('binds a framework to its roles and, by default, to its own name as framework id', () => {
    expect(principalFrom('framework', 'web', { roles: 'web, web/canary' })).toEqual({
      kind: 'framework',
      name: 'web',
      roles: ['web', 'web/canary'],
      frameworkIds: ['web'],
    });
    expect(principalFrom('framework', 'web', { roles: 'web', frameworkIds: 'fw-1,fw-2' })).toMatchObject({
      frameworkIds: ['fw-1', 'fw-2'],
    });
  });

  it('refuses what cannot make a sound principal, as a usage error', () => {
    const usage = (f: () => unknown, message: RegExp) => {
      expect(f).toThrow(CliError);
      expect(f).toThrow(message);
    };
    usage(() => principalFrom('framework', 'web', {}), /needs --roles/);
    usage(
      () => principalFrom('framework', 'web', { roles: 'not a role!' }),
      /invalid framework web: roles.0/,
    );
    usage(() => principalFrom('framework', 'a.b', { roles: 'web' }), /invalid framework a.b: name/);
    usage(
      () => principalFrom('operator', 'x', { readonly: true, superuser: true }),
      /both --readonly and --superuser/,
    );
    usage(() => principalFrom('wizard', 'x', {}), /unknown kind "wizard"/);
  });

  it('gives an agent a fresh agent id unless one is named', () => {
    expect(principalFrom('agent', 'rack7', { agentId: 'a-7' })).toEqual({
      kind: 'agent',
      name: 'rack7',
      agentId: 'a-7',
    });
    expect(principalFrom('agent', 'rack7', {})).toMatchObject({
      agentId: expect.stringMatching(/^a-[0-9a-f]{32}$/),
    });
  });
});

describe('mezzo master: masterSecurity', () => {
  it('authorizes nothing without credentials (the bus is open), but still rate-limits', () => {
    const s = masterSecurity({}, dir, false);
    expect(s.security).toBeUndefined();
    expect(s.rateLimit.ratePerSecond).toBeGreaterThan(0);
  });

  it('refuses to run with credentials but no principals file', () => {
    expect(() => masterSecurity({}, dir, true, {})).toThrow(/no principals file .*principals.json/);
  });

  it('reports a policy file that does not validate', () => {
    expect(() => masterSecurity({ policy: join(dir, 'missing.json') }, dir, false)).toThrow(
      /cannot read policy file/,
    );
  });
});

describe('mezzo agent: bindIdentity', () => {
  const creds = (agentId: string): CredsFile => ({
    user: 'rack7',
    password: 'x',
    principal: { kind: 'agent', name: 'rack7', agentId },
  });

  it('gives a fresh work dir the agent id of the credentials', () => {
    bindIdentity(dir, creds('a-bound'));
    expect(loadIdentity(dir).agentId).toBe('a-bound');
  });

  it('refuses a work dir that holds another agent, and credentials that are not an agent', () => {
    bindIdentity(dir, creds('a-first'));
    expect(() => bindIdentity(dir, creds('a-second'))).toThrow(
      /are for agent a-second, but .* holds agent a-first/,
    );
    expect(() =>
      bindIdentity(dir, { user: 'm', password: 'x', principal: { kind: 'master', name: 'm' } }),
    ).toThrow(/credentials of master m cannot run an agent/);
  });
});
