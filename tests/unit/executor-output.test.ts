import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskFile } from '../../actors/executor/index.js';
import { chunk, createOutputPump, MAX_CHUNK_BYTES } from '../../actors/executor/output-pump.js';
import { taskEnvironment } from '../../actors/executor/runtime.js';
import { programOf } from '../../actors/executor/task-process.js';
import type { TaskOutput } from '../../protocol/index.js';

describe('task output', () => {
  it('cuts output into chunks of at most 64 KB', () => {
    const data = new Uint8Array(MAX_CHUNK_BYTES * 2 + 10).fill(1);
    expect(chunk(data).map((c) => c.byteLength)).toEqual([65_536, 65_536, 10]);
    expect(chunk(new Uint8Array(0))).toEqual([]);
  });

  it('appends to the sandbox file and publishes numbered chunks, then one eof', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mezzo-output-'));
    try {
      const published: TaskOutput[] = [];
      const pump = createOutputPump('stdout', join(dir, 'stdout'), (c) => published.push(c));
      pump.write(Buffer.from('hello\n'));
      pump.write(new Uint8Array(MAX_CHUNK_BYTES + 1).fill(65));
      await pump.end();
      await pump.end();
      expect(published.map((p) => [p.seq, p.data.byteLength, p.eof])).toEqual([
        [0, 6, false],
        [1, 65_536, false],
        [2, 1, false],
        [3, 0, true],
      ]);
      expect(readFileSync(join(dir, 'stdout'), 'utf8')).toBe(`hello\n${'A'.repeat(MAX_CHUNK_BYTES + 1)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('task command and environment', () => {
  it('runs a shell command under /bin/sh -c and an argv as it is', () => {
    expect(programOf({ shell: true, value: 'echo $HOME', env: {} })).toEqual([
      '/bin/sh',
      ['-c', 'echo $HOME'],
    ]);
    expect(programOf({ shell: false, argv: ['sleep', '60'], env: {} })).toEqual(['sleep', ['60']]);
  });

  it("gives the task PATH, HOME and LANG of the executor, its command's env and its ids, and nothing else", () => {
    const file = TaskFile.parse({
      task: {
        taskId: 't1',
        name: 't1',
        resources: [],
        command: { value: 'true', env: { GREETING: 'hi', PATH: '/opt/bin' } },
      },
      frameworkId: 'f1',
      agentId: 'a1',
      executorId: 't1',
      prefix: 'mezzo.v1',
      killPolicy: { gracePeriodSeconds: 3 },
    });
    expect(
      taskEnvironment(file, '/sb', {
        PATH: '/usr/bin',
        HOME: '/root',
        SECRET: 'x',
        MEZZO_NATS_URL: 'nats://x',
      }),
    ).toEqual({
      PATH: '/opt/bin',
      HOME: '/root',
      GREETING: 'hi',
      MEZZO_TASK_ID: 't1',
      MEZZO_FRAMEWORK_ID: 'f1',
      MEZZO_AGENT_ID: 'a1',
      MEZZO_SANDBOX: '/sb',
    });
  });
});
