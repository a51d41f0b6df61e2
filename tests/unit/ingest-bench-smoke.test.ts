import { describe, expect, it } from 'vitest';
import { INGEST_DEFAULTS, runIngest } from '../../bench/ingest/index.js';

const LINE =
  /^ingest agents=(\d+) register_s=[\d.]+ heartbeats_per_s=[\d.]+ steady_master_cpu_pct=[\d.]+ steady_master_rss_mb=[\d.]+ burst=(\d+) burst_s=[\d.]+ updates_per_s=[\d.]+ ack_p50_ms=[\d.]+ ack_p99_ms=[\d.]+( [a-z0-9_]+=\S+)*$/;

describe('the ingest benchmark smoke run', () => {
  it('registers the agents, measures the steady state, and has every burst update acknowledged', async () => {
    const r = await runIngest({
      ...INGEST_DEFAULTS,
      agents: 50,
      burst: 300,
      steadySeconds: 1,
      frameworks: 2,
      timeoutMs: 60_000,
      progress: false,
    });
    expect(r.line).toMatch(LINE);
    const [, agents, burst] = LINE.exec(r.line) ?? [];
    expect([Number(agents), Number(burst)]).toEqual([50, 300]);
    // 50 agents heartbeating every 5 s: about 10 a second.
    expect(r.heartbeatsPerSecond).toBeGreaterThan(0);
    expect(r.steadyRssMb).toBeGreaterThan(10);
  }, 120_000);
});
