import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { type MasterHandle, startMaster } from '../../actors/master/index.js';
import { silentLogger } from '../../bus/index.js';
import { main } from '../../cli/program.js';
import { subjects as makeSubjects } from '../../protocol/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';

let nats: TestNats | undefined;
let master: MasterHandle | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
  await master?.stop();
  master = undefined;
  await nats?.stop();
  nats = undefined;
});

function collect(stream: NodeJS.ReadableStream | null): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (s: string) => {
    text += s;
  });
  return () => text;
}

describe('mezzo simulate', () => {
  it('registers the simulated agents, and unregisters them on SIGTERM', async () => {
    nats = await startTestNats();
    const subjects = makeSubjects(nats.prefix);
    master = await startMaster({ bus: await nats.bus('master'), subjects, log: silentLogger });
    const m = master;
    child = spawn(
      process.execPath,
      [
        'dist/cli/main.js',
        'simulate',
        '--agents',
        '30',
        '--cpus',
        '8',
        '--mem',
        '4096',
        '--id-prefix',
        'rehearsal',
        '--nats',
        nats.url,
        '--prefix',
        nats.prefix,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const out = collect(child.stdout);
    const err = collect(child.stderr);
    await expect
      .poll(() => m.state().agents.filter((a) => a.status === 'ACTIVE').length, { timeout: 20_000 })
      .toBe(30);
    // The line is written once the agents are up; it may still be in the pipe.
    await expect.poll(out, { timeout: 5000 }).toContain('mezzo simulate agents=30 resources=cpus:8;mem:4096');
    const agents = m.state().agents;
    expect(agents.every((a) => a.id.startsWith('rehearsal-'))).toBe(true);
    expect(agents[0].total).toEqual([
      { name: 'cpus', scalar: 8 },
      { name: 'mem', scalar: 4096 },
    ]);
    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Each agent said UNREGISTER on the way out.
    await expect
      .poll(() => m.state().agents.filter((a) => a.status === 'REMOVED').length, { timeout: 10_000 })
      .toBe(30);
    expect(err()).not.toMatch(/Error/);
  });

  it('refuses resources that are not above zero, before connecting to anything', async () => {
    const stderr: string[] = [];
    const code = await main(['node', 'mezzo', 'simulate', '--cpus', '0', '--nats', 'nats://127.0.0.1:1'], {
      stdout: { write: () => true } as unknown as NodeJS.WritableStream,
      stderr: { write: (s: string) => stderr.push(s) > 0 } as unknown as NodeJS.WritableStream,
    });
    expect(code).not.toBe(0);
    expect(stderr.join('')).toMatch(/above 0/);
  });
});
