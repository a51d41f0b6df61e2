import { describe, expect, it } from 'vitest';
import { agentIntakeConfig, DEFAULT_AGENT_INTAKE } from '../../actors/master/agent-intake.js';

describe('agentIntakeConfig', () => {
  it('takes what was given over the environment, and the environment over the defaults', () => {
    expect(agentIntakeConfig(undefined, {})).toEqual(DEFAULT_AGENT_INTAKE);
    expect(agentIntakeConfig(undefined, { MEZZO_MASTER_INTAKE_WORKERS: '2' })).toEqual({
      workers: 2,
      minBytes: DEFAULT_AGENT_INTAKE.minBytes,
    });
    expect(
      agentIntakeConfig(
        { workers: 0 },
        { MEZZO_MASTER_INTAKE_WORKERS: '2', MEZZO_MASTER_INTAKE_MIN_BYTES: '64' },
      ),
    ).toEqual({ workers: 0, minBytes: 64 });
  });

  it('refuses an environment value that is not a whole number >= 0, naming the variable', () => {
    expect(() => agentIntakeConfig(undefined, { MEZZO_MASTER_INTAKE_WORKERS: 'two' })).toThrow(
      /MEZZO_MASTER_INTAKE_WORKERS must be a whole number >= 0, not "two"/,
    );
    expect(() => agentIntakeConfig(undefined, { MEZZO_MASTER_INTAKE_MIN_BYTES: '-1' })).toThrow(
      /MEZZO_MASTER_INTAKE_MIN_BYTES/,
    );
    expect(() => agentIntakeConfig(undefined, { MEZZO_MASTER_INTAKE_WORKERS: '1.5' })).toThrow(
      /whole number/,
    );
  });
});
