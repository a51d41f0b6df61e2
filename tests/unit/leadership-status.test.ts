import { describe, expect, it } from 'vitest';
import { formatDuration, formatStatus } from '../../cli/commands/status.js';
import type { AgentView } from '../../protocol/index.js';

const agent = (id: string, status: AgentView['status']) => ({ id, status }) as AgentView;

describe('mezzo status', () => {
  it.each([
    [12_300, '12.3s'],
    [245_000, '4m05s'],
    [7_380_000, '2h03m'],
  ])('writes %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('says who leads, in which epoch, for how long, and what it still waits for', () => {
    const text = formatStatus(
      {
        masterId: 'm-b',
        epoch: 42,
        electedAt: Date.UTC(2026, 0, 1),
        leadingForMs: 65_000,
        ha: true,
        recoveringAgents: 2,
      },
      [agent('a1', 'ACTIVE'), agent('a2', 'UNREACHABLE'), agent('a3', 'UNREACHABLE')],
    );
    expect(text).toBe(
      [
        'leader      m-b (epoch 42, elected)',
        'leading     1m05s (since 2026-01-01T00:00:00.000Z)',
        'agents      1 active, 2 unreachable, 0 removed',
        'recovering  waiting for 2 agents to re-register after the failover',
        '',
      ].join('\n'),
    );
  });

  it('says when a master runs alone, without election', () => {
    expect(
      formatStatus(
        { masterId: 'm', epoch: 0, electedAt: 0, leadingForMs: 1000, ha: false, recoveringAgents: 0 },
        [],
      ),
    ).toContain('m (single master, no election)');
  });
});
