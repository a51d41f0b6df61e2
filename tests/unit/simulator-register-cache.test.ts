import { describe, expect, it } from 'vitest';
import {
  type EncodedRegistration,
  encodedRegistration,
  onControl,
  type registration,
  type SimAgent,
} from '../../actors/simulator/index.js';
import { decode, encode } from '../../bus/index.js';
import {
  FrameworkInfo,
  type MasterToBatchingAgent,
  resources as R,
  TaskInfo,
  TaskState,
} from '../../protocol/index.js';
import { registeredSimAgent } from '../support/sim.js';

// A simulated agent re-sends its encoded REGISTER until something it reports changes.
const agent = registeredSimAgent;
const framework = FrameworkInfo.parse({ id: 'f1', name: 'f' });
const task = (id: string) =>
  TaskInfo.required({ agentId: true }).parse({
    taskId: id,
    name: 't',
    agentId: 'a1',
    resources: R.parseResources('cpus:1;mem:32'),
    command: { value: 'true' },
  });
let seq = 0;
const ctx = (now: number) => ({ now, uuid: () => `u${++seq}` });
const control = (a: SimAgent, msg: MasterToBatchingAgent, now = 1) =>
  onControl(a, msg, Number.POSITIVE_INFINITY, ctx(now), () => {});

/** A counting encoder: how many times the REGISTER was packed, and what it reported. */
function encoder() {
  const packed: ReturnType<typeof registration>[] = [];
  return {
    packed,
    encode: (register: { type: 'REGISTER' } & ReturnType<typeof registration>) => {
      packed.push(register);
      return encode(register);
    },
  };
}
const reported = (r: EncodedRegistration) =>
  (decode(r.bytes) as ReturnType<typeof registration>).tasks.map((t) => [t.task.taskId, t.status.state]);

/** The uuid of the update at the head of task `id`'s queue (what an ack names). */
const headUuid = (a: SimAgent, id: string) => a.tasks.get(`f1/${id}`)?.queue[0]?.status.uuid as string;

describe('a simulated agent’s encoded REGISTER', () => {
  it('is packed once and re-sent as is while nothing it reports changes', () => {
    const a = agent();
    control(a, { type: 'RUN_TASKS', framework, tasks: [task('t1'), task('t2')] });
    const enc = encoder();
    const first = encodedRegistration(a, undefined, enc.encode);
    // Acknowledging RUNNING changes no status: the same bytes go again.
    control(a, { type: 'STATUS_UPDATE_ACK', frameworkId: 'f1', taskId: 't1', uuid: headUuid(a, 't1') });
    control(a, { type: 'REREGISTER' });
    const again = encodedRegistration(a, first, enc.encode);
    expect(again).toBe(first);
    expect(enc.packed).toHaveLength(1);
    expect(reported(again)).toEqual([
      ['t1', TaskState.RUNNING],
      ['t2', TaskState.RUNNING],
    ]);
  });

  // Each row changes what REGISTER reports; the next REGISTER must be packed afresh and say so.
  const changes: {
    what: string;
    change: (a: SimAgent) => void;
    reports: [string, TaskState][];
  }[] = [
    {
      what: 'a task launched',
      change: (a) => control(a, { type: 'RUN_TASK', framework, task: task('t3') }),
      reports: [
        ['t1', TaskState.RUNNING],
        ['t2', TaskState.RUNNING],
        ['t3', TaskState.RUNNING],
      ],
    },
    {
      what: 'a task killed (its status changed)',
      change: (a) => control(a, { type: 'KILL_TASK', frameworkId: 'f1', taskId: 't2' }),
      reports: [
        ['t1', TaskState.RUNNING],
        ['t2', TaskState.KILLED],
      ],
    },
    {
      what: 'a terminal update acknowledged (the task forgotten)',
      change: (a) => {
        control(a, { type: 'STATUS_UPDATE_ACK', frameworkId: 'f1', taskId: 't2', uuid: headUuid(a, 't2') });
        control(a, { type: 'KILL_TASK', frameworkId: 'f1', taskId: 't2' });
        const enc = encoder();
        // Cached here, after the kill: only the acknowledgement below may invalidate it.
        cachedBeforeAck = encodedRegistration(a, undefined, enc.encode);
        control(a, { type: 'STATUS_UPDATE_ACK', frameworkId: 'f1', taskId: 't2', uuid: headUuid(a, 't2') });
      },
      reports: [['t1', TaskState.RUNNING]],
    },
    {
      what: 'every task dropped on SHUTDOWN',
      change: (a) => control(a, { type: 'SHUTDOWN', message: 'marked gone' }),
      reports: [],
    },
  ];
  let cachedBeforeAck: EncodedRegistration | undefined;
  for (const row of changes)
    it(`is packed again after ${row.what}`, () => {
      const a = agent();
      control(a, { type: 'RUN_TASKS', framework, tasks: [task('t1'), task('t2')] }, 0);
      const enc = encoder();
      cachedBeforeAck = undefined;
      const before = encodedRegistration(a, undefined, enc.encode);
      row.change(a);
      const stale = cachedBeforeAck ?? before;
      const after = encodedRegistration(a, stale, enc.encode);
      expect(after).not.toBe(stale);
      expect(after.version).not.toBe(stale.version);
      expect(reported(after)).toEqual(row.reports);
      // And once packed, it is reused again until the next change.
      expect(encodedRegistration(a, after, enc.encode)).toBe(after);
    });
});
