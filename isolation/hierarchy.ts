import { join } from 'node:path';
import { z } from 'zod';

/** CgroupController names the controllers Mezzo uses. */
export const CgroupController = {
  CPU: 'cpu',
  CPUACCT: 'cpuacct',
  MEMORY: 'memory',
  PIDS: 'pids',
  DEVICES: 'devices',
} as const;
export type CgroupController = (typeof CgroupController)[keyof typeof CgroupController];

/**
 * CgroupHierarchies is where the controllers live: on v1 one mount per controller (two may share
 * one, `cpu,cpuacct`); on v2 one unified mount with the controllers it offers.
 */
export const CgroupHierarchies = z.discriminatedUnion('version', [
  z.object({ version: z.literal('v1'), mounts: z.record(z.string(), z.string()) }),
  z.object({ version: z.literal('v2'), mount: z.string(), controllers: z.array(z.string()) }),
]);
export type CgroupHierarchies = z.infer<typeof CgroupHierarchies>;

/** CGROUP_ROOT is the directory under each hierarchy that holds every Mezzo agent's cgroups. */
export const CGROUP_ROOT = 'mezzo';

/**
 * parseCgroupMounts reads /proc/mounts (and the v2 root's cgroup.controllers) into hierarchies.
 * A controller mounted as v1 is not available on v2 (hybrid hosts), so any v1 controller Mezzo
 * uses makes the host v1; otherwise a v2 mount with controllers makes it v2; else undefined.
 */
export function parseCgroupMounts(
  mounts: string,
  v2Controllers: (mount: string) => string,
): CgroupHierarchies | undefined {
  const v1: Record<string, string> = {};
  let v2: string | undefined;
  for (const line of mounts.split('\n')) {
    const [, dir, type, options] = line.split(' ');
    if (type === 'cgroup2' && v2 === undefined) v2 = dir;
    if (type !== 'cgroup') continue;
    for (const opt of (options ?? '').split(',')) {
      if ((Object.values(CgroupController) as string[]).includes(opt) && !v1[opt]) v1[opt] = dir;
    }
  }
  if (Object.keys(v1).length > 0) return { version: 'v1', mounts: v1 };
  if (v2 === undefined) return undefined;
  let controllers: string[] = [];
  try {
    controllers = v2Controllers(v2).trim().split(/\s+/).filter(Boolean);
  } catch {
    controllers = [];
  }
  return controllers.length > 0 ? { version: 'v2', mount: v2, controllers } : undefined;
}

/** hasController tells whether a hierarchy offers a controller (v2 counts cpuacct as cpu). */
export function hasController(h: CgroupHierarchies, c: CgroupController): boolean {
  if (h.version === 'v1') return h.mounts[c] !== undefined;
  return h.controllers.includes(c === CgroupController.CPUACCT ? CgroupController.CPU : c);
}

/** agentCgroup is `<hierarchy>/mezzo/<agentId>` for a controller: the parent of an agent's containers. */
export function agentCgroup(h: CgroupHierarchies, c: CgroupController, agentId: string): string {
  const base = h.version === 'v1' ? h.mounts[c] : h.mount;
  if (base === undefined) throw new Error(`no cgroup hierarchy for the ${c} controller`);
  return join(base, CGROUP_ROOT, agentId);
}

/** containerCgroup is `<hierarchy>/mezzo/<agentId>/<containerId>` for a controller. */
export function containerCgroup(
  h: CgroupHierarchies,
  c: CgroupController,
  agentId: string,
  containerId: string,
): string {
  return join(agentCgroup(h, c, agentId), containerId);
}
