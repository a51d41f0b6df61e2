import { describe, expect, it } from 'vitest';
import { runFailover } from '../../bench/failover/failover.js';

describe('bench:failover smoke', () => {
  it('measures a killed leader being replaced and every simulated agent re-registering with its tasks', async () => {
    const r = await runFailover({
      agents: 10,
      tasks: 40,
      frameworks: 2,
      // A long lease: a standby that leads well within it found the killed leader gone (no
      // responders) rather than waiting for its key to expire.
      leaseTtlMs: 20_000,
      timeoutMs: 60_000,
    });
    expect(r).toMatchObject({ agents: 10, tasks: 40, tasksKnown: 40 });
    // Long before the dead leader's key could expire (20 s less its last renewal period).
    expect(r.electedMs).toBeLessThan(20_000 - 20_000 / 6 - 2000);
    expect(r.reregisteredMs).toBeGreaterThanOrEqual(r.electedMs);
    expect(r.reregisteredMs).toBeLessThan(20_000);
  }, 90_000);
});
