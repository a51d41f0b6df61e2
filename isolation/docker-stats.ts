import type Docker from 'dockerode';
import { dockerContainerName } from './docker-spec.js';
import type { ResourceUsage } from './types.js';

/** EngineStats is the part of the engine's container stats document that usage is made of. */
export interface EngineStats {
  cpu_stats?: {
    cpu_usage?: { usage_in_usermode?: number; usage_in_kernelmode?: number; total_usage?: number };
    throttling_data?: { throttled_periods?: number };
  };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
}

/** EngineLimits are the limits the engine holds for a container (HostConfig). */
export interface EngineLimits {
  NanoCpus?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  Memory?: number;
}

const NS = 1e9;

/**
 * dockerUsage maps the engine's stats of a container (cgroup v1 or v2 alike) and its limits to
 * ResourceUsage. Memory is the resident anonymous memory (`rss` on v1, `anon` on v2), falling
 * back to usage minus page cache; cpu times come in nanoseconds.
 */
export function dockerUsage(stats: EngineStats, limits: EngineLimits, nowMs: number): ResourceUsage {
  const out: ResourceUsage = { timestamp: nowMs / 1000 };
  const cpu = stats.cpu_stats?.cpu_usage;
  if (cpu?.usage_in_usermode !== undefined) out.cpusUserTimeSecs = cpu.usage_in_usermode / NS;
  if (cpu?.usage_in_kernelmode !== undefined) out.cpusSystemTimeSecs = cpu.usage_in_kernelmode / NS;
  if (out.cpusUserTimeSecs === undefined && cpu?.total_usage !== undefined)
    out.cpusUserTimeSecs = cpu.total_usage / NS;
  const throttled = stats.cpu_stats?.throttling_data?.throttled_periods;
  if (throttled !== undefined) out.cpusNrThrottled = throttled;
  const mem = stats.memory_stats;
  const s = mem?.stats ?? {};
  const rss = s.rss ?? s.total_rss ?? s.anon;
  if (rss !== undefined) out.memRssBytes = rss;
  else if (mem?.usage !== undefined) out.memRssBytes = Math.max(0, mem.usage - (s.cache ?? s.file ?? 0));
  if (limits.Memory) out.memLimitBytes = limits.Memory;
  else if (mem?.limit !== undefined && mem.limit > 0 && mem.limit < 2 ** 60) out.memLimitBytes = mem.limit;
  if (limits.NanoCpus) out.cpusLimit = limits.NanoCpus / NS;
  else if (limits.CpuQuota && limits.CpuQuota > 0 && limits.CpuPeriod)
    out.cpusLimit = limits.CpuQuota / limits.CpuPeriod;
  if (stats.pids_stats?.current !== undefined) out.processes = stats.pids_stats.current;
  return out;
}

/**
 * readDockerUsage asks the engine for one container's stats once (no streaming, no second
 * sample) and its limits; a container that is gone gives just the timestamp.
 */
export async function readDockerUsage(
  docker: Docker,
  containerId: string,
  nowMs: number,
): Promise<ResourceUsage> {
  const c = docker.getContainer(dockerContainerName(containerId));
  try {
    const [stats, info] = await Promise.all([
      c.stats({ stream: false, 'one-shot': true } as { stream: false }) as Promise<EngineStats>,
      c.inspect(),
    ]);
    return dockerUsage(stats, (info.HostConfig ?? {}) as EngineLimits, nowMs);
  } catch {
    return { timestamp: nowMs / 1000 };
  }
}
