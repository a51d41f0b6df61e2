import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bootstrapCredentials,
  CredentialsError,
  directoryOf,
  fileDirectory,
  issueCredentials,
  loadOrCreateRegistry,
  readCreds,
  securityPaths,
} from '../../security/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mezzo-creds-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('issuing credentials', () => {
  it('writes a 0600 creds file whose password matches the bcrypt hash in the registry', () => {
    const paths = securityPaths(dir);
    const reg = issueCredentials(paths, loadOrCreateRegistry(paths, 'mezzo.v1'), {
      kind: 'operator',
      name: 'viewer',
      readonly: true,
      superuser: false,
    });
    const creds = readCreds(paths.creds('viewer'));
    expect(statSync(paths.creds('viewer')).mode & 0o777).toBe(0o600);
    expect(statSync(paths.registry).mode & 0o777).toBe(0o600);
    const hash = reg.principals[0].passwordHash;
    expect(hash.startsWith('$2a$')).toBe(true);
    expect(bcrypt.compareSync(creds.password, hash)).toBe(true);
    expect(bcrypt.compareSync(`${creds.password}x`, hash)).toBe(false);
    expect(JSON.stringify(reg)).not.toContain(creds.password);
  });

  it('refuses a name that is taken and writes nothing', () => {
    const paths = securityPaths(dir);
    const principal = { kind: 'master' as const, name: 'master' };
    const reg = issueCredentials(paths, loadOrCreateRegistry(paths, 'mezzo.v1'), principal);
    const before = readFileSync(paths.registry, 'utf8');
    expect(() => issueCredentials(paths, reg, principal)).toThrow(CredentialsError);
    expect(readFileSync(paths.registry, 'utf8')).toBe(before);
  });

  it('says which file is broken and why', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{"user":"x"}');
    expect(() => readCreds(path)).toThrow(/creds file .*bad.json is invalid: password/);
    expect(() => readCreds(join(dir, 'missing.json'))).toThrow(/cannot read creds file/);
  });
});

describe('bootstrapCredentials', () => {
  it('keeps the credentials it issued before, and reissues an agent whose id changed', () => {
    const first = bootstrapCredentials(dir, 'mezzo.v1', ['a-1', 'a-2']);
    const again = bootstrapCredentials(dir, 'mezzo.v1', ['a-1', 'a-3']);
    expect(again.admin.password).toBe(first.admin.password);
    expect(again.agents[0].password).toBe(first.agents[0].password);
    expect(again.agents[1].password).not.toBe(first.agents[1].password);
    expect(again.agents[1].principal).toEqual({ kind: 'agent', name: 'agent-1', agentId: 'a-3' });
    expect(again.registry.principals.map((p) => p.principal.name).sort()).toEqual([
      'admin',
      'agent-0',
      'agent-1',
      'master',
    ]);
  });
});

describe('the principal directory', () => {
  const web = { kind: 'framework' as const, name: 'web', frameworkIds: ['fw-web'], roles: ['web'] };
  const admin = { kind: 'operator' as const, name: 'admin', readonly: false, superuser: true };

  it('names the principal bound to a framework id, and a superuser for ids bound to no one', () => {
    const d = directoryOf([web, admin]);
    expect(d.framework('fw-web')).toBe(web);
    expect(d.framework('fw-anything')).toBe(admin);
    expect(directoryOf([web]).framework('fw-anything')).toBeUndefined();
  });

  it('re-reads the registry file when it changes', () => {
    const paths = securityPaths(dir);
    let reg = issueCredentials(paths, loadOrCreateRegistry(paths, 'mezzo.v1'), web);
    const d = fileDirectory(paths.registry, 0);
    expect(d.byName('viewer')).toBeUndefined();
    reg = issueCredentials(paths, reg, {
      kind: 'operator',
      name: 'viewer',
      readonly: true,
      superuser: false,
    });
    utimesSync(paths.registry, new Date(), new Date(Date.now() + 5000));
    expect(d.byName('viewer')?.kind).toBe('operator');
    expect(reg.principals).toHaveLength(2);
  });

  it('keeps the last good registry in force when the file is broken, and refuses a broken one at start', () => {
    const paths = securityPaths(dir);
    issueCredentials(paths, loadOrCreateRegistry(paths, 'mezzo.v1'), web);
    const d = fileDirectory(paths.registry);
    writeFileSync(paths.registry, '{ not json');
    expect(d.framework('fw-web')?.name).toBe('web');
    expect(() => fileDirectory(paths.registry)).toThrow(/cannot read principals file/);
  });
});
