import { describe, expect, it } from 'vitest';
import { CLI_DEFAULTS, resolveConfig, resolveDataDir } from '../../cli/index.js';

const file = { natsUrl: 'nats://from-file:4222', prefix: 'file.v1' };
const env = { MEZZO_NATS_URL: 'nats://from-env:4222', MEZZO_DATA: '/env/data', MEZZO_PREFIX: 'env.v1' };
const flags = { nats: 'nats://from-flag:4222', data: '/flag/data', prefix: 'flag.v1' };

describe('resolveConfig', () => {
  it('uses the defaults when nothing else says: .mezzo, mezzo.v1 and no NATS URL', () => {
    expect(resolveConfig({ flags: {}, env: {}, defaults: CLI_DEFAULTS })).toEqual({
      dataDir: '.mezzo',
      prefix: 'mezzo.v1',
      from: { dataDir: 'default', prefix: 'default' },
    });
  });

  it('lets cluster.json beat the defaults', () => {
    const c = resolveConfig({ flags: {}, env: {}, clusterFile: file, defaults: CLI_DEFAULTS });
    expect([c.natsUrl, c.prefix, c.from.natsUrl]).toEqual([
      'nats://from-file:4222',
      'file.v1',
      'cluster-file',
    ]);
  });

  it('lets the environment beat cluster.json', () => {
    const c = resolveConfig({ flags: {}, env, clusterFile: file, defaults: CLI_DEFAULTS });
    expect([c.natsUrl, c.prefix, c.dataDir]).toEqual(['nats://from-env:4222', 'env.v1', '/env/data']);
    expect(c.from).toEqual({ dataDir: 'env', prefix: 'env', natsUrl: 'env' });
  });

  it('lets flags beat everything', () => {
    const c = resolveConfig({ flags, env, clusterFile: file, defaults: CLI_DEFAULTS });
    expect([c.natsUrl, c.prefix, c.dataDir]).toEqual(['nats://from-flag:4222', 'flag.v1', '/flag/data']);
    expect(c.from).toEqual({ dataDir: 'flag', prefix: 'flag', natsUrl: 'flag' });
  });

  it('decides each setting on its own', () => {
    const c = resolveConfig({
      flags: { prefix: 'flag.v1' },
      env: { MEZZO_DATA: '/env/data' },
      clusterFile: file,
      defaults: CLI_DEFAULTS,
    });
    expect(c.from).toEqual({ dataDir: 'env', prefix: 'flag', natsUrl: 'cluster-file' });
  });

  it('treats empty values as unset, so MEZZO_NATS_URL= falls through to cluster.json', () => {
    const c = resolveConfig({
      flags: { nats: '' },
      env: { MEZZO_NATS_URL: '', MEZZO_PREFIX: '  ' },
      clusterFile: file,
      defaults: CLI_DEFAULTS,
    });
    expect([c.natsUrl, c.prefix]).toEqual(['nats://from-file:4222', 'file.v1']);
  });

  it('finds the data dir before the cluster file, from flags, env or default only', () => {
    expect(resolveDataDir({ flags: {}, env: {}, defaults: CLI_DEFAULTS })).toEqual(['.mezzo', 'default']);
    expect(resolveDataDir({ flags: {}, env, defaults: CLI_DEFAULTS })).toEqual(['/env/data', 'env']);
    expect(resolveDataDir({ flags, env, defaults: CLI_DEFAULTS })).toEqual(['/flag/data', 'flag']);
  });
});
