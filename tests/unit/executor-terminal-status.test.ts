import { describe, expect, it } from 'vitest';
import {
  launchFailureStatus,
  type TaskEnd,
  type TerminalStatus,
  terminalStatus,
} from '../../actors/executor/index.js';

describe('the terminal status of a task', () => {
  const cases: { end: TaskEnd; expected: TerminalStatus }[] = [
    {
      end: { exitCode: 0, signal: null, killRequested: false },
      expected: { state: 'TASK_FINISHED', message: 'Command exited with status 0', exitCode: 0 },
    },
    {
      end: { exitCode: 7, signal: null, killRequested: false },
      expected: { state: 'TASK_FAILED', message: 'Command exited with status 7', exitCode: 7 },
    },
    {
      end: { exitCode: null, signal: 'SIGSEGV', killRequested: false },
      expected: { state: 'TASK_FAILED', message: 'Command terminated by signal SIGSEGV', signal: 'SIGSEGV' },
    },
    {
      end: { exitCode: null, signal: 'SIGTERM', killRequested: true },
      expected: { state: 'TASK_KILLED', message: 'Command terminated by signal SIGTERM', signal: 'SIGTERM' },
    },
    {
      end: { exitCode: null, signal: 'SIGKILL', killRequested: true },
      expected: { state: 'TASK_KILLED', message: 'Command terminated by signal SIGKILL', signal: 'SIGKILL' },
    },
    {
      // A task that traps SIGTERM and exits cleanly was still killed.
      end: { exitCode: 0, signal: null, killRequested: true },
      expected: { state: 'TASK_KILLED', message: 'Command exited with status 0', exitCode: 0 },
    },
    {
      end: { exitCode: 143, signal: null, killRequested: true },
      expected: { state: 'TASK_KILLED', message: 'Command exited with status 143', exitCode: 143 },
    },
    {
      // The kernel OOM-killed the task inside its memory cgroup: a limitation, not a plain failure.
      end: {
        exitCode: 137,
        signal: null,
        killRequested: false,
        limitation: { kind: 'memory', message: 'Memory limit exceeded' },
      },
      expected: {
        state: 'TASK_FAILED',
        reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
        message: 'Memory limit exceeded',
        exitCode: 137,
      },
    },
    {
      end: {
        exitCode: null,
        signal: 'SIGKILL',
        killRequested: false,
        limitation: { kind: 'memory', message: 'OOM' },
      },
      expected: {
        state: 'TASK_FAILED',
        reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
        message: 'OOM',
        signal: 'SIGKILL',
      },
    },
    {
      // A kill that was asked for wins over a limitation hit while dying.
      end: {
        exitCode: null,
        signal: 'SIGKILL',
        killRequested: true,
        limitation: { kind: 'memory', message: 'OOM' },
      },
      expected: { state: 'TASK_KILLED', message: 'Command terminated by signal SIGKILL', signal: 'SIGKILL' },
    },
  ];
  for (const { end, expected } of cases) {
    it(`maps exit ${end.exitCode} / signal ${end.signal} / kill ${end.killRequested}${end.limitation ? ' / OOM' : ''} to ${expected.state}`, () => {
      expect(terminalStatus(end)).toEqual(expected);
    });
  }

  it('fails a command that cannot start with a message naming it and the reason', () => {
    expect(
      launchFailureStatus('no-such-cmd', { code: 'ENOENT', message: 'spawn no-such-cmd ENOENT' }),
    ).toEqual({
      state: 'TASK_FAILED',
      reason: 'REASON_COMMAND_EXECUTOR_FAILED',
      message: "Failed to launch command 'no-such-cmd': no such file or command (ENOENT)",
    });
    expect(launchFailureStatus('./x', { code: 'EACCES', message: 'spawn ./x EACCES' }).message).toBe(
      "Failed to launch command './x': permission denied (EACCES)",
    );
  });
});
