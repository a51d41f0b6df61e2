import { describe, expect, it } from 'vitest';
import { statusUpdateQueue as Q } from '../../actors/agent/index.js';
import type { StatusUpdate, TaskState } from '../../protocol/index.js';

const update = (uuid: string, state: TaskState = 'TASK_RUNNING', taskId = 't1'): StatusUpdate => ({
  frameworkId: 'f1',
  status: { taskId, state, source: 'SOURCE_EXECUTOR', agentId: 'a1', uuid, timestamp: 0 },
});

type Op = { enqueue: StatusUpdate; key?: string } | { ack: string; key?: string };

/** play applies operations in order and records what each returned. */
function play(ops: Op[]) {
  let queues: Q.UpdateQueues = {};
  const results: unknown[] = [];
  for (const op of ops) {
    const key = op.key ?? 'f1/t1';
    if ('enqueue' in op) {
      const r = Q.enqueue(queues, key, op.enqueue);
      queues = r.queues;
      results.push(r.outcome === 'queued' ? `queued${r.isHead ? ' head' : ''}` : r.outcome);
    } else {
      const r = Q.acknowledge(queues, key, op.ack);
      queues = r.queues;
      results.push(r.acked ? `acked, next ${r.next?.status.uuid ?? 'none'}` : 'ignored');
    }
  }
  return { queues, results };
}

describe('the status update queue', () => {
  const cases: { name: string; ops: Op[]; results: string[]; pending: string[] }[] = [
    {
      name: 'keeps updates in order and forwards only the first at once',
      ops: [
        { enqueue: update('u1', 'TASK_STARTING') },
        { enqueue: update('u2') },
        { enqueue: update('u3', 'TASK_FINISHED') },
      ],
      results: ['queued head', 'queued', 'queued'],
      pending: ['u1', 'u2', 'u3'],
    },
    {
      name: 'drops a duplicate uuid, pending or already acknowledged',
      ops: [{ enqueue: update('u1') }, { enqueue: update('u1') }, { ack: 'u1' }, { enqueue: update('u1') }],
      results: ['queued head', 'duplicate', 'acked, next none', 'duplicate'],
      pending: [],
    },
    {
      name: 'pops only on the ack of the head and hands over the next',
      ops: [{ enqueue: update('u1') }, { enqueue: update('u2') }, { ack: 'u1' }, { ack: 'u2' }],
      results: ['queued head', 'queued', 'acked, next u2', 'acked, next none'],
      pending: [],
    },
    {
      name: 'ignores the ack of an update that is not the head',
      ops: [{ enqueue: update('u1') }, { enqueue: update('u2') }, { ack: 'u2' }, { ack: 'nope' }],
      results: ['queued head', 'queued', 'ignored', 'ignored'],
      pending: ['u1', 'u2'],
    },
    {
      name: 'takes nothing after a terminal update',
      ops: [{ enqueue: update('u1', 'TASK_FAILED') }, { enqueue: update('u2', 'TASK_RUNNING') }],
      results: ['queued head', 'after-terminal'],
      pending: ['u1'],
    },
    {
      name: 'makes a new update the head once the stream has drained',
      ops: [{ enqueue: update('u1') }, { ack: 'u1' }, { enqueue: update('u2') }],
      results: ['queued head', 'acked, next none', 'queued head'],
      pending: ['u2'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { queues, results } = play(c.ops);
      expect(results).toEqual(c.results);
      expect(queues['f1/t1']?.pending.map((u) => u.status.uuid) ?? []).toEqual(c.pending);
      expect(Q.head(queues, 'f1/t1')?.status.uuid).toBe(c.pending[0]);
      expect(Q.isDrained(queues, 'f1/t1')).toBe(c.pending.length === 0);
    });
  }

  it('keeps one stream per task: an ack on one never pops another', () => {
    const { queues, results } = play([
      { enqueue: update('a1', 'TASK_RUNNING', 't1'), key: 'f1/t1' },
      { enqueue: update('b1', 'TASK_RUNNING', 't2'), key: 'f1/t2' },
      { ack: 'b1', key: 'f1/t1' },
      { ack: 'b1', key: 'f1/t2' },
    ]);
    expect(results).toEqual(['queued head', 'queued head', 'ignored', 'acked, next none']);
    expect(Q.isDrained(queues, 'f1/t1')).toBe(false);
    expect(Q.isDrained(queues)).toBe(false);
    expect(Q.heads(queues).map(([k, u]) => [k, u.status.uuid])).toEqual([['f1/t1', 'a1']]);
  });

  it('forgets a stream and treats an unknown one as drained', () => {
    const { queues } = play([{ enqueue: update('u1') }]);
    const gone = Q.forget(queues, 'f1/t1');
    expect(gone).toEqual({});
    expect(Q.isDrained(gone, 'f1/t1')).toBe(true);
    expect(Q.isDrained({})).toBe(true);
  });

  it('changes nothing in place', () => {
    const { queues } = play([{ enqueue: update('u1') }]);
    const snapshot = structuredClone(queues);
    Q.enqueue(queues, 'f1/t1', update('u2'));
    Q.acknowledge(queues, 'f1/t1', 'u1');
    expect(queues).toEqual(snapshot);
  });
});
