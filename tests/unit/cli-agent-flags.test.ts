import { describe, expect, it } from 'vitest';
import { parseIsolation } from '../../cli/commands/agent.js';

describe('mezzo agent --isolation', () => {
  it('reads a comma-separated list of known isolators', () => {
    expect(parseIsolation('posix, cgroups/mem,namespaces/pid')).toEqual([
      'posix',
      'cgroups/mem',
      'namespaces/pid',
    ]);
  });

  it('refuses an unknown isolator, naming it and the known ones', () => {
    expect(() => parseIsolation('posix,cgroups/gpu')).toThrow(/unknown isolator cgroups\/gpu; known: posix/);
  });
});
