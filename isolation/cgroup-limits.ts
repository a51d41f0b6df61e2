import type { CgroupController } from './hierarchy.js';
import type { ContainerLimits } from './types.js';

/**
 * devicesWrites denies the container each device rule it may not use (v1 `devices.deny`, one rule
 * per write); everything else stays as the parent allows. v2 has no devices files (eBPF instead).
 */
export function devicesWrites(version: 'v1' | 'v2', limits: ContainerLimits): CgroupWrite[] {
  if (version !== 'v1') return [];
  return (limits.deniedDevices ?? []).map((rule) => ({
    controller: 'devices' as const,
    file: 'devices.deny',
    value: rule,
  }));
}

/** CgroupWrite is one interface file to write in a container's cgroup of one controller. */
export interface CgroupWrite {
  controller: CgroupController;
  file: string;
  value: string;
}

/** CFS_PERIOD_US is the CFS period Mezzo uses, as Mesos does (100 ms). */
export const CFS_PERIOD_US = 100_000;
/** MIN_CFS_QUOTA_US is the smallest quota the kernel accepts (1 ms). */
const MIN_CFS_QUOTA_US = 1000;
/** CPU_SHARES_PER_CPU is the v1 cpu.shares of one whole cpu. */
export const CPU_SHARES_PER_CPU = 1024;
/** MIN_CPU_SHARES is the smallest cpu.shares the kernel accepts. */
const MIN_CPU_SHARES = 2;

/** cpuShares is 1024 per cpu, at least 2 (`cpus:0.2` -> 204). */
export function cpuShares(cpus: number): number {
  return Math.max(MIN_CPU_SHARES, Math.floor(cpus * CPU_SHARES_PER_CPU));
}

/** cpuWeight maps shares [2, 262144] onto v2's cpu.weight [1, 10000], as systemd and Mesos do. */
export function cpuWeight(cpus: number): number {
  const shares = Math.min(262_144, cpuShares(cpus));
  return 1 + Math.floor(((shares - 2) * 9999) / 262_142);
}

/** cfsQuotaUs is cpus worth of one CFS period, at least 1 ms (`cpus:0.2` -> 20000). */
export function cfsQuotaUs(cpus: number): number {
  return Math.max(MIN_CFS_QUOTA_US, Math.round(cpus * CFS_PERIOD_US));
}

/** memBytes is a mem resource (MB) in bytes. */
export function memBytes(memMb: number): number {
  return Math.floor(memMb * 1024 * 1024);
}

/**
 * cpuWrites sets a relative share (v1 cpu.shares, v2 cpu.weight) and, with CFS enabled, a hard
 * quota (v1 cpu.cfs_period_us + cpu.cfs_quota_us, v2 cpu.max); without it the quota is lifted.
 */
export function cpuWrites(version: 'v1' | 'v2', limits: ContainerLimits): CgroupWrite[] {
  const c = 'cpu' as const;
  if (version === 'v1') {
    return [
      { controller: c, file: 'cpu.shares', value: String(cpuShares(limits.cpus)) },
      { controller: c, file: 'cpu.cfs_period_us', value: String(CFS_PERIOD_US) },
      {
        controller: c,
        file: 'cpu.cfs_quota_us',
        value: limits.enableCfs && limits.cpus > 0 ? String(cfsQuotaUs(limits.cpus)) : '-1',
      },
    ];
  }
  return [
    { controller: c, file: 'cpu.weight', value: String(cpuWeight(limits.cpus)) },
    {
      controller: c,
      file: 'cpu.max',
      value: `${limits.enableCfs && limits.cpus > 0 ? cfsQuotaUs(limits.cpus) : 'max'} ${CFS_PERIOD_US}`,
    },
  ];
}

/** memWrites sets the hard memory limit (v1 memory.limit_in_bytes, v2 memory.max); no mem, no limit. */
export function memWrites(version: 'v1' | 'v2', limits: ContainerLimits): CgroupWrite[] {
  const file = version === 'v1' ? 'memory.limit_in_bytes' : 'memory.max';
  const none = version === 'v1' ? '-1' : 'max';
  return [{ controller: 'memory', file, value: limits.memMb > 0 ? String(memBytes(limits.memMb)) : none }];
}

/** pidsWrites caps the number of processes (pids.max), or lifts the cap. */
export function pidsWrites(_version: 'v1' | 'v2', limits: ContainerLimits): CgroupWrite[] {
  return [{ controller: 'pids', file: 'pids.max', value: limits.pidsMax ? String(limits.pidsMax) : 'max' }];
}

/** keyValues parses the `key value` lines of cgroup files such as cpu.stat and memory.events. */
export function keyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && Number.isFinite(Number(v))) out[k] = Number(v);
  }
  return out;
}

/**
 * oomKills counts the container's OOM kills: v1 memory.oom_control (`oom_kill`, or `under_oom 1`
 * on kernels before 4.13), v2 memory.events (`oom_kill`, `oom_group_kill`).
 */
export function oomKills(version: 'v1' | 'v2', text: string): number {
  const kv = keyValues(text);
  if (version === 'v1') return (kv.oom_kill ?? 0) || (kv.under_oom ?? 0);
  return Math.max(kv.oom_kill ?? 0, kv.oom_group_kill ?? 0);
}
