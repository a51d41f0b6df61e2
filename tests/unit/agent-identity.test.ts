import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadIdentity, newAgentId, resolveIdentity } from '../../actors/agent/index.js';
import { ID_PATTERN } from '../../protocol/index.js';

describe('agent identity', () => {
  const cases = [
    {
      name: 'keeps the stored id on the same boot',
      stored: { agentId: 'a-old', bootId: 'b1' },
      bootId: 'b1',
      id: 'a-old',
    },
    {
      name: 'takes a fresh id after a reboot',
      stored: { agentId: 'a-old', bootId: 'b1' },
      bootId: 'b2',
      id: 'a-new',
    },
    { name: 'takes a fresh id on a fresh work dir', stored: undefined, bootId: 'b1', id: 'a-new' },
    {
      name: 'keeps the stored id where no boot id can be read',
      stored: { agentId: 'a-old' },
      bootId: undefined,
      id: 'a-old',
    },
    {
      name: 'takes a fresh id when a boot id appears',
      stored: { agentId: 'a-old' },
      bootId: 'b1',
      id: 'a-new',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(resolveIdentity(c.stored, c.bootId, 'a-new')).toEqual({
        agentId: c.id,
        ...(c.bootId ? { bootId: c.bootId } : {}),
      });
    });
  }

  it('draws ids that are valid in subjects and paths', () => {
    const id = newAgentId();
    expect(id).toMatch(ID_PATTERN);
    expect(id).toMatch(/^a-[0-9a-f]{32}$/);
  });

  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('persists the id with the boot id in meta/agent.json and finds it again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mezzo-identity-'));
    dirs.push(dir);
    const first = loadIdentity(dir, 'boot-1');
    expect(JSON.parse(readFileSync(join(dir, 'meta', 'agent.json'), 'utf8'))).toEqual({
      agentId: first.agentId,
      bootId: 'boot-1',
    });
    expect(loadIdentity(dir, 'boot-1').agentId).toBe(first.agentId);
    const rebooted = loadIdentity(dir, 'boot-2');
    expect(rebooted.agentId).not.toBe(first.agentId);
    expect(loadIdentity(dir, 'boot-2').agentId).toBe(rebooted.agentId);
  });
});
