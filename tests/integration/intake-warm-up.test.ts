import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { sampleRegister, WARM_UP_REGISTERS } from '../../actors/master/agent-intake.js';
import { decode, encode, type IntakeVerdict, silentLogger, WorkerIntake } from '../../bus/index.js';
import { AgentToMaster } from '../../protocol/index.js';
import { waitFor } from '../support/processes.js';
import { testScope } from '../support/scope.js';

const scope = testScope();

/** submitOne hands one message to the intake and resolves with its verdict. */
const submitOne = (intake: WorkerIntake, key: string, data: Uint8Array) =>
  new Promise<IntakeVerdict>((resolve) => intake.submit(key, data, 1 << 20, resolve));

describe('an intake worker warmed up on a sample', () => {
  it('has a sample REGISTER that AgentToMaster accepts as it is: 10 running tasks of 5 frameworks', () => {
    const parsed = AgentToMaster.parse(decode(sampleRegister()));
    expect(parsed.type).toBe('REGISTER');
    const register = parsed as Extract<AgentToMaster, { type: 'REGISTER' }>;
    expect(register.tasks).toHaveLength(10);
    expect(register.frameworks).toHaveLength(5);
    expect(register.tasks.every((t) => t.status.state === 'TASK_RUNNING')).toBe(true);
    expect(WARM_UP_REGISTERS).toBeGreaterThan(0);
  });

  it('becomes ready after the warm-up and then parses real messages, the sample’s output never delivered', async () => {
    const intake = new WorkerIntake({
      schemaName: 'AgentToMaster',
      workers: 1,
      minBytes: 1,
      warmUp: { sample: sampleRegister(), times: 200 },
      log: silentLogger,
    });
    scope.defer(() => intake.close());
    intake.prestart();
    await waitFor(() => intake.stats().workersReady === 1, 20_000, 'the warmed worker');
    const heartbeat = await submitOne(intake, 'a.1', encode({ type: 'HEARTBEAT' }));
    expect(heartbeat).toEqual({ ok: true, value: { type: 'HEARTBEAT' } });
    const bad = await submitOne(intake, 'a.1', encode({ type: 'REGISTER', agent: { id: 'x' } }));
    expect(bad.ok).toBe(false);
    const register = await submitOne(intake, 'a.2', sampleRegister());
    expect(register).toEqual({ ok: true, value: AgentToMaster.parse(decode(sampleRegister())) });
    expect(intake.stats()).toMatchObject({ offThread: 3, inline: 0, rejected: 1 });
  });

  it('says so when its sample does not parse, and still serves', async () => {
    const lines: { msg?: string; reason?: string }[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const intake = new WorkerIntake({
      schemaName: 'AgentToMaster',
      workers: 1,
      minBytes: 1,
      warmUp: { sample: encode({ type: 'NOT_A_MESSAGE' }), times: 10 },
      log: pino({ level: 'warn' }, sink),
    });
    scope.defer(() => intake.close());
    intake.prestart();
    await waitFor(() => intake.stats().workersReady === 1, 20_000, 'the worker');
    expect(lines.some((l) => l.msg === 'intake worker: the warm-up sample does not parse' && l.reason)).toBe(
      true,
    );
    expect(await submitOne(intake, 'a.1', encode({ type: 'HEARTBEAT' }))).toEqual({
      ok: true,
      value: { type: 'HEARTBEAT' },
    });
  });
});
