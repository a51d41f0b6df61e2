import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Id } from '../../protocol/index.js';

/** StoredIdentity is what `<workDir>/meta/agent.json` holds. */
export const StoredIdentity = z.object({ agentId: Id, bootId: z.string().max(128).optional() });
export type StoredIdentity = z.infer<typeof StoredIdentity>;

/** newAgentId draws a fresh agent id: `a-` and a uuid without dashes. */
export function newAgentId(uuid: string = randomUUID()): string {
  return `a-${uuid.replaceAll('-', '')}`;
}

/**
 * resolveIdentity decides the agent's id: the stored one while the machine has not rebooted
 * (same boot id, or no boot id known on either side), a fresh one otherwise. A reboot killed every
 * task, so the agent comes back as a new agent, as in Mesos.
 */
export function resolveIdentity(
  stored: StoredIdentity | undefined,
  bootId: string | undefined,
  freshId: string,
): StoredIdentity {
  if (stored && stored.bootId === bootId) return stored;
  return bootId === undefined ? { agentId: freshId } : { agentId: freshId, bootId };
}

/** readBootId reads the kernel's boot id, where the platform has one. */
export function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** metaPath is where an agent keeps its identity. */
export function metaPath(workDir: string): string {
  return join(workDir, 'meta', 'agent.json');
}

/** loadIdentity reads, resolves and persists the agent's identity in its work dir. */
export function loadIdentity(workDir: string, bootId: string | undefined = readBootId()): StoredIdentity {
  const file = metaPath(workDir);
  let stored: StoredIdentity | undefined;
  try {
    const parsed = StoredIdentity.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    stored = parsed.success ? parsed.data : undefined;
  } catch {
    stored = undefined;
  }
  const identity = resolveIdentity(stored, bootId, newAgentId());
  if (identity !== stored) {
    mkdirSync(join(workDir, 'meta'), { recursive: true });
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(identity)}\n`);
    renameSync(tmp, file);
  }
  return identity;
}
