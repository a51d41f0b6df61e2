import { describe, expect, it } from 'vitest';
import { subjects } from '../../protocol/index.js';

describe('subjects', () => {
  it('gives back the agent id of a control subject, for any prefix', () => {
    for (const prefix of ['mezzo.v1', 'a', 'x-y.z_1.v2']) {
      const s = subjects(prefix);
      for (const id of ['a1', 'agent-7', 'A_b-9']) expect(s.agentOf(s.agent(id))).toBe(id);
    }
  });
});
