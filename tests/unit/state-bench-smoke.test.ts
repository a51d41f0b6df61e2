import { describe, expect, it } from 'vitest';
import { runState, STATE_DEFAULTS } from '../../bench/state/index.js';

const LINE =
  /^state agents=(\d+) running=(\d+) finished=(\d+) register_s=[\d.]+ tasks_in_state=(\d+) state_mb=[\d.]+ get_state_p50_ms=[\d.]+ get_state_max_ms=[\d.]+ pages=(\d+) page_max_ms=[\d.]+( [a-z0-9_]+=\S+)*$/;

describe('the GET_STATE benchmark smoke run', () => {
  it('seeds running and finished tasks, keeps launching, and times GET_STATE', async () => {
    const r = await runState({
      ...STATE_DEFAULTS,
      agents: 40,
      runningPerAgent: 3,
      finishedPerAgent: 2,
      frameworks: 2,
      calls: 2,
      churnPerSecond: 20,
      pageTasks: 50,
      timeoutMs: 60_000,
      progress: false,
    });
    expect(r.error).toBeUndefined();
    expect(r.line).toMatch(LINE);
    const [, agents, running, finished, inState, pages] = LINE.exec(r.line) ?? [];
    expect([Number(agents), Number(running), Number(finished)]).toEqual([40, 120, 80]);
    // 200 and more tasks in pages of 50.
    expect(Number(pages)).toBeGreaterThanOrEqual(4);
    // Every seeded task is in the master's view, plus the churn tasks launched meanwhile.
    expect(Number(inState)).toBeGreaterThanOrEqual(200);
    expect(r.getStateMs).toHaveLength(2);
  }, 120_000);
});
