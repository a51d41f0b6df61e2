import { describe, expect, it } from 'vitest';
import { startExecutor as start } from '../support/executor-harness.js';

// The executor keeps its terminal update until its agent acknowledges it: a loaded agent is slow,
// not gone, and an executor that exits first makes the agent fail a task whose end it has not read.

/** finished runs a task to its exit 0 with STARTING and RUNNING acknowledged: TASK_FINISHED (u2) waits. */
function finished() {
  const x = start();
  x.send({ type: 'SPAWNED', pid: 999, ...x.stamp() });
  x.send({ type: 'ACK', uuid: 'u-start' });
  x.send({ type: 'ACK', uuid: 'u1' });
  x.send({ type: 'TASK_EXITED', exitCode: 0, signal: null, ...x.stamp() });
  expect(x.actor.getSnapshot().value).toBe('reporting');
  expect(x.calls.filter((c) => c.effect === 'publishUpdate').at(-1)?.state).toBe('TASK_FINISHED');
  return x;
}

describe('the executor waiting for its terminal update to be acknowledged', () => {
  it('waits past the give-up time while its agent shows signs of life, resending, and is done only on the ACK', () => {
    const x = finished();
    // Ten minutes of an agent that runs but is too loaded to answer.
    for (let s = 0; s < 600; s++) {
      x.advance(1000);
      x.send({ type: 'AGENT_ALIVE' });
    }
    expect(x.status()).toBe('active');
    expect(x.warnings()).toEqual([]);
    // Resent all along, backing off to every 10 s: about 60 times in ten minutes.
    const resent = x.calls.filter((c) => c.effect === 'publishUpdate' && c.state === 'TASK_FINISHED');
    expect(resent.length).toBeGreaterThanOrEqual(55);
    x.send({ type: 'ACK', uuid: 'u2' });
    expect(x.status()).toBe('done');
    expect(x.warnings()).toEqual([]);
  });

  it('gives up 60 s after the last sign of its agent, not 60 s after the task ended', () => {
    const x = finished();
    x.advance(50_000);
    x.send({ type: 'AGENT_ALIVE' });
    x.advance(59_000);
    expect(x.status()).toBe('active');
    x.advance(1000);
    expect(x.status()).toBe('done');
    expect(x.warnings()).toEqual(['no sign of the agent while the terminal update waits; exiting anyway']);
  });

  it('stops waiting at once when the agent says it does not know this executor (SHUTDOWN)', () => {
    const x = finished();
    x.send({ type: 'SHUTDOWN', ...x.stamp() });
    expect(x.status()).toBe('done');
    expect(x.warnings()).toHaveLength(1);
  });

  it('treats SHUTDOWN while the task runs as a kill with the default grace: TASK_KILLED, then waits for its ACK', () => {
    const x = start();
    x.send({ type: 'SPAWNED', pid: 999, ...x.stamp() });
    x.send({ type: 'SHUTDOWN', ...x.stamp() });
    expect(x.actor.getSnapshot().value).toBe('killing');
    expect(x.calls.filter((c) => c.effect === 'signalTask').map((c) => c.signal)).toEqual(['SIGTERM']);
    x.advance(2000);
    expect(x.calls.filter((c) => c.effect === 'signalTask').map((c) => c.signal)).toEqual([
      'SIGTERM',
      'SIGKILL',
    ]);
    x.send({ type: 'TASK_EXITED', exitCode: null, signal: 'SIGKILL', ...x.stamp() });
    x.send({ type: 'ACK', uuid: 'u-start' });
    x.send({ type: 'ACK', uuid: 'u1' });
    expect(x.calls.filter((c) => c.effect === 'publishUpdate').at(-1)?.state).toBe('TASK_KILLED');
    expect(x.status()).toBe('active');
    x.send({ type: 'ACK', uuid: 'u3' });
    expect(x.status()).toBe('done');
  });
});
