import { describe, expect, it } from 'vitest';
import { LAUNCH_DEFAULTS, runLaunch } from '../../bench/launch/index.js';

const LINE =
  /^launch agents=(\d+) frameworks=(\d+) tasks=(\d+) seconds=[\d.]+ launches_per_s=[\d.]+ p50_ms=[\d.]+ p99_ms=[\d.]+ master_cpu_s=[\d.]+ master_rss_mb=[\d.]+( [a-z0-9_]+=\S+)*$/;

describe('the launch benchmark smoke run', () => {
  it('launches every task to TASK_FINISHED, acknowledged, and prints the summary line', async () => {
    const r = await runLaunch({
      ...LAUNCH_DEFAULTS,
      agents: 20,
      frameworks: 2,
      tasks: 2000,
      timeoutMs: 60_000,
      progress: false,
    });
    expect(r.line).toMatch(LINE);
    const [, agents, frameworks, tasks] = LINE.exec(r.line) ?? [];
    expect([Number(agents), Number(frameworks), Number(tasks)]).toEqual([20, 2, 2000]);
    expect({ finished: r.finished, acked: r.acked, failed: r.failed }).toEqual({
      finished: 2000,
      acked: 2000,
      failed: 0,
    });
    // The master ran in its own process: its CPU time and memory were read from /proc.
    expect(r.masterCpuSeconds).toBeGreaterThan(0);
    expect(r.masterRssMb).toBeGreaterThan(10);
  }, 90_000);
});
