import { describe, expect, it } from 'vitest';
import {
  buildTaskRequest,
  type CliError,
  canAnyAgentFit,
  commandInfoFor,
  parseEnv,
  parseRlimits,
  pickOffer,
  requestedResources,
  taskIdFor,
  taskOutcome,
} from '../../cli/index.js';
import {
  type AgentView,
  ID_PATTERN,
  type Offer,
  resources as R,
  type TaskStatus,
} from '../../protocol/index.js';

const flags = { cpus: 0.1, mem: 32, disk: 0, role: '*' };

describe('mapping mezzo run arguments to a command', () => {
  it('runs several arguments as argv, without a shell', () => {
    expect(commandInfoFor(['echo', 'hello'])).toEqual({ shell: false, argv: ['echo', 'hello'], env: {} });
    expect(commandInfoFor(['sh', '-c', 'echo out; exit 7'])).toEqual({
      shell: false,
      argv: ['sh', '-c', 'echo out; exit 7'],
      env: {},
    });
  });

  it('runs a single argument as a shell command line', () => {
    expect(commandInfoFor(['echo $HOME | wc -c'])).toEqual({
      shell: true,
      value: 'echo $HOME | wc -c',
      env: {},
    });
  });

  it('obeys --shell and --no-shell', () => {
    expect(commandInfoFor(['echo', '$HOME'], { shell: true })).toEqual({
      shell: true,
      value: 'echo $HOME',
      env: {},
    });
    expect(commandInfoFor(['/opt/my tool'], { shell: false })).toEqual({
      shell: false,
      argv: ['/opt/my tool'],
      env: {},
    });
  });

  it('carries env and user', () => {
    expect(commandInfoFor(['true'], { env: { A: '1' }, user: 'nobody' })).toEqual({
      shell: true,
      value: 'true',
      env: { A: '1' },
      user: 'nobody',
    });
  });

  it('refuses an empty command as a usage error', () => {
    expect(() => commandInfoFor([])).toThrow(/nothing to run/);
    try {
      commandInfoFor([]);
    } catch (err) {
      expect((err as CliError).exitCode).toBe(2);
    }
  });

  it('parses --env K=V pairs, keeping = in values, and refuses bad names', () => {
    expect(parseEnv(['A=1', 'B=x=y', 'A=2', 'EMPTY='])).toEqual({ A: '2', B: 'x=y', EMPTY: '' });
    expect(() => parseEnv(['NOVALUE'])).toThrow(/NAME=VALUE/);
    expect(() => parseEnv(['1X=1'])).toThrow(/not a valid variable name/);
  });

  it('asks for cpus, mem and disk, leaving zeros out', () => {
    expect(requestedResources({ cpus: 0.1, mem: 32, disk: 0 })).toEqual([
      { name: 'cpus', scalar: 0.1 },
      { name: 'mem', scalar: 32 },
    ]);
    expect(() => requestedResources({ cpus: 0, mem: 0, disk: 10 })).toThrow(/--cpus or --mem/);
  });

  it('makes task ids from the name that match the protocol id pattern', () => {
    expect(taskIdFor('mezzo-run', 'ab12cd')).toBe('mezzo-run-ab12cd');
    expect(taskIdFor('My Job.v2!', 'ab12cd')).toBe('my-job-v2-ab12cd');
    expect(taskIdFor('...', 'ab12cd')).toBe('task-ab12cd');
    expect(taskIdFor('x'.repeat(300))).toMatch(ID_PATTERN);
  });

  it('builds the whole request', () => {
    expect(buildTaskRequest(['echo', 'hi'], { ...flags, name: 'greet', env: ['G=hi'] }, '000001')).toEqual({
      taskId: 'greet-000001',
      name: 'greet',
      role: '*',
      resources: [
        { name: 'cpus', scalar: 0.1 },
        { name: 'mem', scalar: 32 },
      ],
      command: { shell: false, argv: ['echo', 'hi'], env: { G: 'hi' } },
    });
    expect(() => buildTaskRequest(['true'], { ...flags, role: 'bad role' })).toThrow(/--role/);
  });
});

const offer = (id: string, resources: string, role = '*'): Offer => ({
  id,
  frameworkId: 'f',
  agentId: `agent-of-${id}`,
  hostname: 'h',
  role,
  resources: R.parseResources(resources),
  attributes: {},
});
const want = { resources: R.parseResources('cpus:0.5;mem:64'), role: '*' };

describe('pickOffer', () => {
  it('takes the first offer that fits and declines the others', () => {
    const small = offer('o1', 'cpus:0.1;mem:1024');
    const big = offer('o2', 'cpus:2;mem:1024');
    const bigger = offer('o3', 'cpus:4;mem:4096');
    expect(pickOffer([small, big, bigger], want)).toEqual({ offer: big, decline: [small, bigger] });
  });

  it('declines everything when nothing fits', () => {
    const small = offer('o1', 'cpus:0.1;mem:1024');
    expect(pickOffer([small], want)).toEqual({ decline: [small] });
    expect(pickOffer([], want)).toEqual({ decline: [] });
  });

  it('counts resources reserved for the role, and not those reserved for another', () => {
    const reservedForOther = offer('o1', 'cpus(ads):4;mem(ads):4096');
    const reservedForMine = offer('o2', 'cpus(eng):0.5;mem:64', 'eng');
    expect(pickOffer([reservedForOther, reservedForMine], { ...want, role: 'eng' }).offer).toBe(
      reservedForMine,
    );
  });
});

const agent = (id: string, total: string, status: AgentView['status'] = 'ACTIVE'): AgentView => ({
  id,
  hostname: id,
  status,
  attributes: {},
  total: R.parseResources(total),
  used: [],
  offered: [],
  registeredAt: 0,
  lastSeenAt: 0,
  version: '0.1.0',
  tasks: 0,
});

describe('canAnyAgentFit', () => {
  it('names the agents whose totals fit, however busy they are now', () => {
    const busy = { ...agent('a1', 'cpus:1;mem:512'), used: R.parseResources('cpus:1;mem:512') };
    expect(canAnyAgentFit([busy, agent('a2', 'cpus:0.1;mem:32')], want)).toEqual({
      kind: 'fits',
      agentIds: ['a1'],
    });
  });

  it('says so when no agent could ever fit, naming the largest one', () => {
    const verdict = canAnyAgentFit(
      [agent('small', 'cpus:1;mem:512;disk:100'), agent('big', 'cpus:4;mem:8192;disk:100')],
      {
        resources: R.parseResources('cpus:999;mem:32'),
        role: '*',
      },
    );
    expect(verdict).toEqual({
      kind: 'never',
      message:
        'no agent can fit cpus=999 mem=32; largest agent has cpus=4 mem=8192 disk=100 (agent big of 2)',
    });
  });

  it('names the agent that covers most of the request, then the one with most cpus', () => {
    // "wide" has cpus for it, "deep" has neither: wide covers 1 of 2 requested resources.
    const verdict = canAnyAgentFit([agent('deep', 'cpus:8;mem:16'), agent('wide', 'cpus:1;mem:16')], {
      resources: R.parseResources('cpus:8;mem:64'),
      role: '*',
    });
    expect(verdict.kind === 'never' && verdict.message).toContain('(agent deep of 2)');
  });

  it('ignores agents that are not active, and resources reserved for other roles', () => {
    const gone = agent('gone', 'cpus:64;mem:65536', 'UNREACHABLE');
    const reserved = agent('reserved', 'cpus(ads):64;mem(ads):65536;cpus:0.1;mem:32');
    const verdict = canAnyAgentFit([gone, reserved], want);
    expect(verdict.kind).toBe('never');
    expect(canAnyAgentFit([reserved], { ...want, role: 'ads' })).toEqual({
      kind: 'fits',
      agentIds: ['reserved'],
    });
  });

  it('cannot tell yet when no agent is registered', () => {
    expect(canAnyAgentFit([], want).kind).toBe('no-agents');
  });
});

const final = (over: Partial<TaskStatus>): TaskStatus => ({
  taskId: 't1',
  state: 'TASK_FINISHED',
  source: 'SOURCE_EXECUTOR',
  timestamp: 0,
  ...over,
});

describe('taskOutcome: exit codes from the final status', () => {
  it.each([
    ['TASK_FINISHED', {}, 0, 'task t1 TASK_FINISHED'],
    [
      'TASK_FAILED with its exit code',
      { state: 'TASK_FAILED', exitCode: 7 },
      7,
      'task t1 TASK_FAILED (exit code 7)',
    ],
    [
      'TASK_FAILED with a code over 255',
      { state: 'TASK_FAILED', exitCode: 300 },
      255,
      'task t1 TASK_FAILED (exit code 300)',
    ],
    [
      'TASK_FAILED by a signal',
      { state: 'TASK_FAILED', signal: 'SIGSEGV' },
      139,
      'task t1 TASK_FAILED (killed by SIGSEGV)',
    ],
    [
      'TASK_FAILED without a code',
      { state: 'TASK_FAILED', message: 'executor died' },
      1,
      'task t1 TASK_FAILED: executor died',
    ],
    [
      'TASK_KILLED by SIGTERM',
      { state: 'TASK_KILLED', signal: 'SIGTERM' },
      143,
      'task t1 TASK_KILLED: the task was killed',
    ],
    [
      'TASK_KILLED without a signal',
      { state: 'TASK_KILLED' },
      137,
      'task t1 TASK_KILLED: the task was killed',
    ],
    [
      'TASK_ERROR',
      {
        state: 'TASK_ERROR',
        source: 'SOURCE_MASTER',
        message: 'a task needs some cpus or mem',
        reason: 'REASON_TASK_INVALID',
      },
      1,
      'task t1 TASK_ERROR: a task needs some cpus or mem REASON_TASK_INVALID',
    ],
    ['TASK_LOST', { state: 'TASK_LOST' }, 1, 'task t1 TASK_LOST: the task was lost'],
    [
      'TASK_DROPPED',
      { state: 'TASK_DROPPED' },
      1,
      'task t1 TASK_DROPPED: the task was dropped before it launched',
    ],
  ] as const)('%s', (_name, over, code, line) => {
    expect(taskOutcome(final(over as Partial<TaskStatus>))).toEqual({ exitCode: code, line });
  });

  it('exits 130 for a task killed after Ctrl-C, and keeps a real result that won the race', () => {
    expect(taskOutcome(final({ state: 'TASK_KILLED' }), { interrupted: true })).toEqual({
      exitCode: 130,
      line: 'task t1 TASK_KILLED',
    });
    expect(taskOutcome(final({ state: 'TASK_FINISHED' }), { interrupted: true }).exitCode).toBe(0);
    expect(taskOutcome(final({ state: 'TASK_FAILED', exitCode: 3 }), { interrupted: true }).exitCode).toBe(3);
  });
});

describe('mezzo run --rlimit', () => {
  it('reads TYPE=SOFT:HARD, TYPE=BOTH and unlimited, in any case', () => {
    expect(parseRlimits(['nofile=64:128', 'CORE=0', 'stack=unlimited'])).toEqual([
      { type: 'NOFILE', soft: 64, hard: 128 },
      { type: 'CORE', soft: 0, hard: 0 },
      { type: 'STACK' },
    ]);
    expect(parseRlimits([])).toBeUndefined();
  });

  it.each([
    ['nofile', /expected TYPE=SOFT\[:HARD\]/],
    ['nofile=-1', /expected TYPE=SOFT/],
    ['nofile=9:3', /soft value may not exceed its hard value/],
    ['files=1', /--rlimit/],
  ])('refuses %s as a usage error', (value, message) => {
    expect(() => parseRlimits([value])).toThrow(message);
    try {
      parseRlimits([value]);
    } catch (err) {
      expect((err as CliError).exitCode).toBe(2);
    }
  });
});
