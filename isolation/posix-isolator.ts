import { spawnSync } from 'node:child_process';
import type { Rlimit } from '../protocol/index.js';
import type { HostFs } from './effects.js';
import { PRLIMIT, prlimitArgs } from './rlimits.js';
import { IsolationError, type Isolator, IsolatorName, type LaunchPlan, type ResourceUsage } from './types.js';

/** USER_HZ and PAGE_SIZE: the units of /proc/<pid>/stat on Linux. */
const USER_HZ = 100;
const PAGE_SIZE = 4096;

/** ProcStat is the part of /proc/<pid>/stat the posix isolator reads. */
export interface ProcStat {
  pgrp: number;
  utimeTicks: number;
  stimeTicks: number;
  rssPages: number;
}

/** parseProcStat reads /proc/<pid>/stat; the command name may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ')': state(3) ppid(4) pgrp(5) ... utime(14) stime(15) ... rss(24).
  const f = text
    .slice(close + 2)
    .trim()
    .split(' ');
  if (f.length < 22) return undefined;
  return {
    pgrp: Number(f[2]),
    utimeTicks: Number(f[11]),
    stimeTicks: Number(f[12]),
    rssPages: Number(f[21]),
  };
}

/** sumGroup adds up the cpu times, rss and count of the processes of one process group. */
export function sumGroup(stats: ProcStat[], pgid: number): Partial<ResourceUsage> {
  const mine = stats.filter((s) => s.pgrp === pgid);
  return {
    cpusUserTimeSecs: mine.reduce((a, s) => a + s.utimeTicks, 0) / USER_HZ,
    cpusSystemTimeSecs: mine.reduce((a, s) => a + s.stimeTicks, 0) / USER_HZ,
    memRssBytes: mine.reduce((a, s) => a + s.rssPages, 0) * PAGE_SIZE,
    processes: mine.length,
  };
}

/** hasPrlimit tells whether util-linux's prlimit runs here. */
export function hasPrlimit(): boolean {
  const r = spawnSync(PRLIMIT, ['--version'], { stdio: 'ignore', timeout: 3000 });
  return !r.error && r.status === 0;
}

/**
 * posixIsolator is the fallback everywhere: the executor already starts each task in its own
 * process group and kills the group when the task ends; this isolator measures that group from
 * /proc, and sets the task's rlimits by starting it through prlimit (Mesos posix/rlimits). It
 * keeps only the rlimits between prepare and wrap, so cleanup and recover have little to do.
 */
export function posixIsolator(fs: HostFs, procRoot = '/proc', prlimitAvailable = hasPrlimit): Isolator {
  const rlimits = new Map<string, Rlimit[]>();
  return {
    name: IsolatorName.POSIX,
    prepare(id, limits) {
      if (!limits.rlimits?.length) return;
      if (!prlimitAvailable())
        throw new IsolationError('the task sets rlimits, which need prlimit (util-linux) on the agent');
      rlimits.set(id, limits.rlimits);
    },
    procsFiles: () => [],
    wrap(id: string, plan: LaunchPlan) {
      const mine = rlimits.get(id);
      if (!mine) return plan;
      return { ...plan, program: PRLIMIT, args: [...prlimitArgs(mine), '--', plan.program, ...plan.args] };
    },
    isolate: () => {},
    update: () => {},
    usage(_id, pid) {
      if (pid === undefined) return {};
      const stats: ProcStat[] = [];
      for (const name of fs.list(procRoot)) {
        if (!/^\d+$/.test(name)) continue;
        try {
          const s = parseProcStat(fs.read(`${procRoot}/${name}/stat`));
          if (s) stats.push(s);
        } catch {
          // Gone while we looked.
        }
      }
      return sumGroup(stats, pid);
    },
    limitation: () => undefined,
    cleanup: async (id) => {
      rlimits.delete(id);
    },
    recover: async () => [],
  };
}
