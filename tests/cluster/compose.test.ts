import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

type Service = {
  image?: string;
  init?: boolean;
  command?: string[];
  environment?: Record<string, string>;
  networks?: string[];
  depends_on?: string[];
  volumes?: string[];
};

/** The compose file parsed as compose v2 reads it (YAML merge keys resolved). */
const compose = parse(readFileSync('deploy/compose.yaml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  networks: Record<string, unknown>;
  volumes: Record<string, unknown>;
};

describe('deploy/compose.yaml', () => {
  it('runs three NATS nodes, three masters and three agents on one private network', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'agent-1',
        'agent-2',
        'agent-3',
        'master-1',
        'master-2',
        'master-3',
        'nats-1',
        'nats-2',
        'nats-3',
      ].sort(),
    );
    for (const s of Object.values(compose.services)) expect(s.networks).toEqual(['mezzo']);
    expect(compose.networks).toHaveProperty('mezzo');
  });

  it('clusters the NATS nodes with JetStream, each routing to the two others, each with its own store', () => {
    for (const n of [1, 2, 3]) {
      const s = compose.services[`nats-${n}`];
      const cmd = s.command ?? [];
      expect(s.image).toBe('mezzo/nats:latest');
      // JetStream, its store and TLS with users come from the configuration deploy/secure.sh writes.
      expect(cmd.slice(0, 2)).toEqual(['-c', '/secrets/nats/nats.conf']);
      expect(cmd[cmd.indexOf('--server_name') + 1]).toBe(`nats-${n}`);
      expect(cmd[cmd.indexOf('--cluster_name') + 1]).toBe('mezzo');
      const routes = cmd[cmd.indexOf('--routes') + 1].split(',');
      expect(routes.sort()).toEqual([1, 2, 3].filter((m) => m !== n).map((m) => `nats://nats-${m}:6222`));
      expect(s.volumes).toEqual([
        `nats-${n}:/data`,
        './secrets/nats:/secrets/nats:ro',
        './secrets/tls:/secrets/tls:ro',
      ]);
      expect(compose.volumes).toHaveProperty(`nats-${n}`);
    }
  });

  it('runs the masters highly available, with an init, on every NATS node and three replicas', () => {
    const ids = new Set<string>();
    for (const n of [1, 2, 3]) {
      const s = compose.services[`master-${n}`];
      expect(s.image).toBe('mezzo/mezzo:latest');
      expect(s.init).toBe(true);
      expect(s.command).toEqual(['master', '--tls-ca', '/secrets/tls/ca.pem']);
      expect(s.environment).toMatchObject({
        MEZZO_HA: '1',
        MEZZO_REPLICAS: '3',
        MEZZO_PREFIX: 'mezzo.v1',
        MEZZO_CREDS: '/secrets/creds.json',
        MEZZO_PRINCIPALS: '/secrets/principals.json',
      });
      expect(s.volumes).toContain(`./secrets/security/creds/master-${n}.json:/secrets/creds.json:ro`);
      expect(s.environment?.MEZZO_NATS_URL.split(',')).toEqual([1, 2, 3].map((m) => `nats://nats-${m}:4222`));
      ids.add(s.environment?.MEZZO_MASTER_ID as string);
      expect(s.depends_on).toEqual(['nats-1', 'nats-2', 'nats-3']);
    }
    expect(ids.size).toBe(3);
  });

  it('runs each agent with an init, its own credentials and the CA, on every NATS node', () => {
    for (const n of [1, 2, 3]) {
      const a = compose.services[`agent-${n}`];
      expect(a.init).toBe(true);
      expect(a.command?.slice(0, 3)).toEqual(['agent', '--tls-ca', '/secrets/tls/ca.pem']);
      expect(a.command).toContain('--resources');
      expect(a.environment?.MEZZO_NATS_URL).toBe(compose.services['master-1'].environment?.MEZZO_NATS_URL);
      expect(a.environment).toMatchObject({
        MEZZO_CREDS: '/secrets/creds.json',
        NODE_EXTRA_CA_CERTS: '/secrets/tls/ca.pem',
      });
      expect(a.environment).not.toHaveProperty('MEZZO_HA');
      // Only its own credentials: an agent's are bound to its agent id.
      expect(a.volumes).toEqual([
        `./secrets/security/creds/agent-${n}.json:/secrets/creds.json:ro`,
        './secrets/tls/ca.pem:/secrets/tls/ca.pem:ro',
      ]);
    }
  });

  it('mounts only files that deploy/secure.sh writes, and never the CA key', () => {
    const out = mkdtempSync(join(tmpdir(), 'mezzo-compose-secrets-'));
    try {
      execFileSync('bash', ['deploy/secure.sh', out, '3'], { stdio: 'pipe' });
      for (const [name, s] of Object.entries(compose.services)) {
        for (const v of s.volumes ?? []) {
          const [from] = v.split(':');
          if (!from.startsWith('./secrets')) continue;
          expect(existsSync(join(out, from.slice('./secrets'.length))), `${name} mounts ${from}`).toBe(true);
          expect(from).not.toMatch(/^\.\/secrets\/ca/);
        }
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
