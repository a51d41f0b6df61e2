import { describe, expect, it } from 'vitest';
import {
  allocationRunDue,
  defaultLeadershipConfig,
  mayAllocate,
  recoveryOver,
  registryScope,
} from '../../actors/master/leadership.js';
import type { MasterEvent } from '../../actors/master/machine.js';
import { EpochGate, judgeEpoch } from '../../bus/index.js';
import { AgentInfo, FrameworkInfo, resources as R } from '../../protocol/index.js';

const cfg = defaultLeadershipConfig({ reregisterTimeoutMs: 10_000, reregisterFraction: 0.8 });
const reply = { resolve: () => {}, reject: () => {} };

describe('a new leader waiting for its agents', () => {
  it.each([
    // known, pending, elapsed ms -> may allocate
    [10, 10, 0, false],
    [10, 3, 0, false], // 7 of 10 back: 0.7 < 0.8
    [10, 2, 0, true], // 8 of 10 back: 0.8
    [10, 0, 0, true],
    [0, 0, 0, true], // a cluster nobody had led
    [10, 10, 10_000, true], // the window is over
  ])('with %i known and %i pending after %i ms may allocate: %s', (known, pending, elapsed, expected) => {
    expect(mayAllocate({ known, pending, startedAt: 1000 }, 1000 + elapsed, cfg)).toBe(expected);
  });

  it.each([
    // recovering, ms since the last run (interval 1000) -> an asked-for run may start
    [true, 0, false],
    [true, 499, false],
    [true, 500, true], // at most two runs per interval while agents come back
    [false, 0, true], // otherwise every asked-for run starts
    [true, Number.POSITIVE_INFINITY, true], // no run yet
  ])(
    'recovering %s, %i ms after the last run, an asked-for run is due: %s',
    (recovering, since, expected) => {
      const now = 10_000;
      expect(allocationRunDue(recovering, now, now - since, 1000)).toBe(expected);
    },
  );

  it('marks the missing agents unreachable only once the window is over', () => {
    expect(recoveryOver({ known: 5, pending: 1, startedAt: 0 }, 9_999, cfg)).toBe(false);
    expect(recoveryOver({ known: 5, pending: 1, startedAt: 0 }, 10_000, cfg)).toBe(true);
    expect(recoveryOver({ known: 5, pending: 0, startedAt: 0 }, 50_000, cfg)).toBe(false);
  });
});

describe('which events may change the registry', () => {
  const agent = AgentInfo.parse({
    id: 'a1',
    hostname: 'h',
    resources: R.parseResources('cpus:1'),
    version: '0',
  });
  const fw = FrameworkInfo.parse({ id: 'f1', name: 'f' });
  const cases: [string, MasterEvent, ReturnType<typeof registryScope>][] = [
    [
      'an agent registering (with the frameworks it reports)',
      {
        type: 'AGENT_MESSAGE',
        now: 0,
        agentId: 'a1',
        msg: { type: 'REGISTER', agent, tasks: [], frameworks: [fw] },
        reply,
      },
      { agents: ['a1'], frameworks: ['f1'] },
    ],
    [
      'an agent leaving',
      { type: 'AGENT_MESSAGE', now: 0, agentId: 'a1', msg: { type: 'UNREGISTER' }, reply },
      { agents: ['a1'] },
    ],
    [
      'a heartbeat: nothing',
      { type: 'AGENT_MESSAGE', now: 0, agentId: 'a1', msg: { type: 'HEARTBEAT' }, reply },
      undefined,
    ],
    [
      'a status update: nothing (the hot path writes nothing replicated)',
      {
        type: 'AGENT_MESSAGE',
        now: 0,
        agentId: 'a1',
        msg: {
          type: 'STATUS_UPDATE',
          update: {
            frameworkId: 'f1',
            status: {
              taskId: 't',
              state: 'TASK_RUNNING',
              source: 'SOURCE_EXECUTOR',
              uuid: 'u',
              agentId: 'a1',
              timestamp: 0,
            },
          },
        },
        reply,
      },
      undefined,
    ],
    [
      'SUBSCRIBE',
      {
        type: 'SCHEDULER_CALL',
        now: 0,
        frameworkId: 'f1',
        call: { type: 'SUBSCRIBE', framework: fw },
        reply,
      },
      { frameworks: ['f1'] },
    ],
    [
      'TEARDOWN',
      { type: 'SCHEDULER_CALL', now: 0, frameworkId: 'f1', call: { type: 'TEARDOWN' }, reply },
      { frameworks: ['f1'] },
    ],
    [
      'a launch: nothing',
      {
        type: 'SCHEDULER_CALL',
        now: 0,
        frameworkId: 'f1',
        call: {
          type: 'ACCEPT',
          offerIds: ['o'],
          operations: [
            {
              type: 'LAUNCH',
              tasks: [{ taskId: 't', name: 't', resources: [], command: { value: 'true' } }],
            },
          ],
        },
        reply,
      } as unknown as MasterEvent,
      undefined,
    ],
    [
      'a reservation',
      {
        type: 'SCHEDULER_CALL',
        now: 0,
        frameworkId: 'f1',
        call: {
          type: 'ACCEPT',
          offerIds: ['o'],
          operations: [{ type: 'RESERVE', resources: R.parseResources('cpus(eng):1') }],
        },
        reply,
      } as MasterEvent,
      { agents: 'all' },
    ],
    [
      'an operator read: nothing',
      { type: 'OPERATOR_CALL', now: 0, call: { type: 'GET_STATE' }, reply },
      undefined,
    ],
    [
      'an operator write',
      {
        type: 'OPERATOR_CALL',
        now: 0,
        call: { type: 'UPDATE_WEIGHTS', weights: [{ role: 'eng', weight: 2 }] },
        reply,
      },
      { agents: 'all', frameworks: 'all', roles: true },
    ],
    [
      'a tick (agents turn unreachable, frameworks time out)',
      { type: 'TICK', now: 0 },
      { agents: 'all', frameworks: 'all' },
    ],
    ['an allocation run: nothing', { type: 'ALLOCATE', now: 0 }, undefined],
  ];
  it.each(cases)('%s', (_name, event, scope) => {
    expect(registryScope(event)).toEqual(scope);
  });

  const registering = (frameworks: FrameworkInfo[]): MasterEvent => ({
    type: 'AGENT_MESSAGE',
    now: 0,
    agentId: 'a1',
    msg: { type: 'REGISTER', agent, tasks: [], frameworks },
    reply,
  });
  const f2 = FrameworkInfo.parse({ id: 'f2', name: 'other' });
  it.each([
    // frameworks reported, frameworks the master knows -> the REGISTER's scope
    [[fw, f2], [], { agents: ['a1'], frameworks: ['f1', 'f2'] }],
    [[fw, f2], ['f1'], { agents: ['a1'], frameworks: ['f2'] }],
    // Every framework known (agents coming back after a failover): the agent alone.
    [[fw, f2], ['f1', 'f2'], { agents: ['a1'] }],
    [[], ['f1'], { agents: ['a1'] }],
  ] as const)('a REGISTER reporting %j, with %j known, may change %j', (reported, known, scope) => {
    expect(
      registryScope(registering([...reported]), (id) => (known as readonly string[]).includes(id)),
    ).toEqual(scope);
  });
});

describe('epochs on the receiving side', () => {
  it.each([
    [0, undefined, 'current'],
    [5, undefined, 'current'],
    [5, 5, 'current'],
    [5, 9, 'newer'],
    [9, 5, 'stale'],
  ] as const)('with newest %i, a message of epoch %s is %s', (newest, epoch, verdict) => {
    expect(judgeEpoch(newest, epoch)).toBe(verdict);
  });

  it('remembers the newest epoch and drops what a deposed leader sends afterwards', () => {
    const g = new EpochGate();
    expect(g.admit(3)).toBe('newer');
    expect(g.admit(7)).toBe('newer');
    expect(g.admit(3)).toBe('stale');
    expect(g.newest).toBe(7);
  });
});
