import { describe, expect, it } from 'vitest';
import { CHURN_DEFAULTS, runChurn } from '../../bench/launch/index.js';

const LINE =
  /^churn agents=(\d+) running=(\d+) rate=[\d.]+ seconds=\d+ launched=(\d+) p50_ms=[\d.]+ p99_ms=[\d.]+( [a-z0-9_]+=\S+)*$/;

describe('the churn benchmark smoke run', () => {
  it('launches the churn tasks beside the running ones and prints the summary line', async () => {
    const r = await runChurn({
      ...CHURN_DEFAULTS,
      agents: 20,
      running: 200,
      frameworks: 2,
      ratePerSecond: 20,
      seconds: 2,
      taskDurationMs: 200,
      timeoutMs: 60_000,
      progress: false,
    });
    expect(r.line).toMatch(LINE);
    const [, agents, running, launched] = LINE.exec(r.line) ?? [];
    expect([Number(agents), Number(running), Number(launched)]).toEqual([20, 200, 40]);
  }, 120_000);
});
