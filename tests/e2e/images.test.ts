import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/processes.js';

const MEZZO = resolve('dist/cli/main.js');
const run = `t${process.pid}`;
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const logs = (name: string) => spawnSync('docker', ['logs', name], { encoding: 'utf8' }).output.join('');

/**
 * The images that `npm run images` builds FROM scratch run a real cluster: nats, a master and an
 * agent as containers on a private network, driven from the host through a published NATS port.
 */
describe('the container images', () => {
  let natsUrl: string;

  beforeAll(async () => {
    // Also starts dockerd when none answers (these tests run as root, as CI does).
    execFileSync('bash', ['deploy/images/build.sh'], { stdio: 'inherit' });
    docker('network', 'create', `${run}-net`);
    docker(
      'run',
      '-d',
      '--rm',
      '--name',
      `${run}-nats`,
      '--network',
      `${run}-net`,
      '-p',
      '127.0.0.1::4222',
      'mezzo/nats',
      '-js',
    );
    const nats = `nats://${run}-nats:4222`;
    docker(
      'run',
      '-d',
      '--rm',
      '--init',
      '--name',
      `${run}-master`,
      '--network',
      `${run}-net`,
      'mezzo/mezzo',
      'master',
      '--nats',
      nats,
    );
    docker(
      'run',
      '-d',
      '--rm',
      '--init',
      '--name',
      `${run}-agent`,
      '--network',
      `${run}-net`,
      'mezzo/mezzo',
      'agent',
      '--nats',
      nats,
      '--resources',
      'cpus:1;mem:256;disk:100;ports:[31000-31010]',
    );
    natsUrl = `nats://${docker('port', `${run}-nats`, '4222/tcp').split('\n')[0]}`;
    await waitFor(
      () => /mezzo master \S+ ready/.test(logs(`${run}-master`)),
      30_000,
      'the master ready line',
    );
    await waitFor(
      () => /mezzo agent \S+ registered/.test(logs(`${run}-agent`)),
      30_000,
      'the agent registered line',
    );
  }, 180_000);

  afterAll(() => {
    spawnSync('docker', ['stop', '-t', '10', `${run}-agent`, `${run}-master`, `${run}-nats`]);
    spawnSync('docker', ['network', 'rm', `${run}-net`]);
  }, 60_000);

  it('are built from scratch and answer --version', () => {
    expect(docker('run', '--rm', 'mezzo/mezzo', '--version')).toMatch(/^\d+\.\d+\.\d+$/);
    expect(docker('run', '--rm', 'mezzo/nats', '--version')).toContain('nats-server');
    expect(docker('image', 'inspect', 'mezzo/nats', '--format', '{{len .RootFS.Layers}}')).toBe('1');
  });

  it('run a task on the containerised agent, launched from the host', () => {
    const r = spawnSync(
      process.execPath,
      [MEZZO, 'run', '--nats', natsUrl, '--', 'sh', '-c', 'echo hello from $(cat /etc/hostname); exit 3'],
      {
        encoding: 'utf8',
        env: { ...process.env, MEZZO_DATA: '/nonexistent', MEZZO_LOG_LEVEL: 'warn' },
        timeout: 30_000,
      },
    );
    expect(r.stdout).toMatch(/^hello from [0-9a-f]{12}\n$/);
    expect(r.stderr).toContain('TASK_FAILED');
    expect(r.status).toBe(3);
  });

  it('stop cleanly on docker stop, the agent unregistering first', () => {
    docker('stop', '-t', '10', `${run}-agent`);
    const agents = JSON.parse(
      execFileSync(process.execPath, [MEZZO, 'agents', '--json', '--nats', natsUrl], {
        encoding: 'utf8',
        env: { ...process.env, MEZZO_DATA: '/nonexistent' },
      }),
    );
    expect(agents.agents.map((a: { status: string }) => a.status)).toEqual(['REMOVED']);
  });
});
