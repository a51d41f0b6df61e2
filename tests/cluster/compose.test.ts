import { readFileSync } from 'node:fs';
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
  it('runs three NATS nodes, three masters and an agent service on one private network', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['agent', 'master-1', 'master-2', 'master-3', 'nats-1', 'nats-2', 'nats-3'].sort(),
    );
    for (const s of Object.values(compose.services)) expect(s.networks).toEqual(['mezzo']);
    expect(compose.networks).toHaveProperty('mezzo');
  });

  it('clusters the NATS nodes with JetStream, each routing to the two others, each with its own store', () => {
    for (const n of [1, 2, 3]) {
      const s = compose.services[`nats-${n}`];
      const cmd = s.command ?? [];
      expect(s.image).toBe('mezzo/nats:latest');
      expect(cmd).toContain('-js');
      expect(cmd[cmd.indexOf('--server_name') + 1]).toBe(`nats-${n}`);
      expect(cmd[cmd.indexOf('--cluster_name') + 1]).toBe('mezzo');
      const routes = cmd[cmd.indexOf('--routes') + 1].split(',');
      expect(routes.sort()).toEqual([1, 2, 3].filter((m) => m !== n).map((m) => `nats://nats-${m}:6222`));
      expect(s.volumes).toEqual([`nats-${n}:/data`]);
      expect(compose.volumes).toHaveProperty(`nats-${n}`);
    }
  });

  it('runs the masters highly available, with an init, on every NATS node and three replicas', () => {
    const ids = new Set<string>();
    for (const n of [1, 2, 3]) {
      const s = compose.services[`master-${n}`];
      expect(s.image).toBe('mezzo/mezzo:latest');
      expect(s.init).toBe(true);
      expect(s.command).toEqual(['master']);
      expect(s.environment).toMatchObject({ MEZZO_HA: '1', MEZZO_REPLICAS: '3', MEZZO_PREFIX: 'mezzo.v1' });
      expect(s.environment?.MEZZO_NATS_URL.split(',')).toEqual([1, 2, 3].map((m) => `nats://nats-${m}:4222`));
      ids.add(s.environment?.MEZZO_MASTER_ID as string);
      expect(s.depends_on).toEqual(['nats-1', 'nats-2', 'nats-3']);
    }
    expect(ids.size).toBe(3);
  });

  it('runs agents with an init, on every NATS node, with their resources', () => {
    const a = compose.services.agent;
    expect(a.init).toBe(true);
    expect(a.command?.[0]).toBe('agent');
    expect(a.command).toContain('--resources');
    expect(a.environment?.MEZZO_NATS_URL).toBe(compose.services['master-1'].environment?.MEZZO_NATS_URL);
    expect(a.environment).not.toHaveProperty('MEZZO_HA');
  });
});
