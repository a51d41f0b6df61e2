import { describe, expect, it } from 'vitest';
import { main } from '../../cli/index.js';

function capture() {
  let out = '';
  let err = '';
  return {
    streams: {
      stdout: {
        write: (s: string | Uint8Array) => {
          out += String(s);
          return true;
        },
      } as unknown as NodeJS.WritableStream,
      stderr: {
        write: (s: string | Uint8Array) => {
          err += String(s);
          return true;
        },
      } as unknown as NodeJS.WritableStream,
    },
    out: () => out,
    err: () => err,
  };
}

describe('the mezzo program', () => {
  it('lists every command in --help', async () => {
    const c = capture();
    expect(await main(['node', 'mezzo', '--help'], c.streams)).toBe(0);
    for (const cmd of ['up', 'master', 'agent', 'run', 'agents', 'frameworks', 'tasks|ps', 'kill'])
      expect(c.out()).toContain(cmd);
  });

  it.each(['up', 'master', 'agent', 'run', 'agents', 'frameworks', 'tasks', 'ps', 'kill'])(
    'has --help for %s',
    async (cmd) => {
      const c = capture();
      expect(await main(['node', 'mezzo', cmd, '--help'], c.streams)).toBe(0);
      expect(c.out()).toContain('--nats <url>');
    },
  );

  it('refuses run without a command, before connecting anywhere', async () => {
    const c = capture();
    expect(await main(['node', 'mezzo', 'run', '--nats', 'nats://127.0.0.1:1'], c.streams)).not.toBe(0);
    expect(c.err()).toMatch(/command/);
  });

  it('refuses a bad number as a usage error', async () => {
    const c = capture();
    expect(await main(['node', 'mezzo', 'run', '--cpus', 'lots', '--', 'true'], c.streams)).not.toBe(0);
    expect(c.err()).toMatch(/--cpus/);
  });

  it('passes options after the command through to the task', async () => {
    const c = capture();
    const saved = process.env.MEZZO_NATS_URL;
    delete process.env.MEZZO_NATS_URL;
    // -n is echo's, not mezzo's: refused only because there is no cluster to run on.
    let code: number;
    try {
      code = await main(
        ['node', 'mezzo', 'run', '--data', '/nonexistent-mezzo', 'echo', '-n', 'hi'],
        c.streams,
      );
    } finally {
      if (saved !== undefined) process.env.MEZZO_NATS_URL = saved;
    }
    expect(code).toBe(1);
    expect(c.err()).toMatch(/no cluster found/);
  });
});
