import { describe, expect, it } from 'vitest';
import { runFailover } from '../../bench/failover/failover.js';

describe('bench:failover smoke', () => {
  it('measures a killed leader being replaced and every simulated agent re-registering with its tasks', async () => {
    const r = await runFailover({
      agents: 10,
      tasks: 40,
      frameworks: 2,
      leaseTtlMs: 1500,
      timeoutMs: 60_000,
    });
    expect(r).toMatchObject({ agents: 10, tasks: 40, tasksKnown: 40 });
    // Not before the dead leader's lease could expire (ttl less its last renewal period), not long after.
    expect(r.electedMs).toBeGreaterThan(1500 - 300 - 100);
    expect(r.reregisteredMs).toBeGreaterThanOrEqual(r.electedMs);
    expect(r.reregisteredMs).toBeLessThan(20_000);
  }, 90_000);
});
