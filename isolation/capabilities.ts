import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { type HostFs, nodeHostFs } from './effects.js';
import {
  agentCgroup,
  CGROUP_ROOT,
  CgroupController,
  type CgroupHierarchies,
  hasController,
  parseCgroupMounts,
} from './hierarchy.js';
import { ALL_ISOLATORS, IsolatorName } from './types.js';

/** HostCapabilities is what the agent found it may use; each `false`-ish entry carries why not. */
export interface HostCapabilities {
  platform: string;
  root: boolean;
  cgroups?: CgroupHierarchies;
  /** Why cgroups are unusable altogether, when they are. */
  cgroupsWhyNot?: string;
  /** Per controller: true, or why the agent cannot make cgroups in it. */
  controllers: Partial<Record<CgroupController, true | string>>;
  /** true, or why `unshare --pid --fork --mount-proc` does not work. */
  unshare: true | string;
}

/** IsolationChoice is what an agent runs with: the isolators on and, for each one off, why. */
export interface IsolationChoice {
  on: IsolatorName[];
  off: { name: string; why: string }[];
}

const CONTROLLER_OF: Partial<Record<IsolatorName, CgroupController>> = {
  [IsolatorName.CGROUPS_CPU]: CgroupController.CPU,
  [IsolatorName.CGROUPS_MEM]: CgroupController.MEMORY,
  [IsolatorName.CGROUPS_PIDS]: CgroupController.PIDS,
  [IsolatorName.CGROUPS_DEVICES]: CgroupController.DEVICES,
};

/**
 * chooseIsolation decides which isolators run. posix is always on (the fallback). Without a list,
 * every cgroup isolator the host supports is on, and filesystem/tmp; namespaces/pid is opt-in,
 * because a task that is pid 1's child sees a kill as exit status 143 rather than SIGTERM. A
 * requested isolator the host cannot give, or an unknown name, is off with its reason.
 */
export function chooseIsolation(
  requested: readonly string[] | undefined,
  caps: HostCapabilities,
): IsolationChoice {
  const on: IsolatorName[] = [];
  const off: { name: string; why: string }[] = [];
  const asked = requested ? new Set(requested) : undefined;
  for (const name of requested ?? [])
    if (!(ALL_ISOLATORS as readonly string[]).includes(name)) off.push({ name, why: 'unknown isolator' });
  for (const name of ALL_ISOLATORS) {
    if (name === IsolatorName.POSIX) {
      on.push(name);
      continue;
    }
    const wanted = asked ? asked.has(name) : name !== IsolatorName.NAMESPACES_PID;
    const why = whyNot(name, caps);
    if (!wanted) {
      off.push({ name, why: asked ? 'not requested' : (why ?? 'opt-in (name it in isolation)') });
    } else if (why) off.push({ name, why });
    else on.push(name);
  }
  return { on, off };
}

/** whyNot says why the host cannot give an isolator, or undefined when it can. */
function whyNot(name: IsolatorName, caps: HostCapabilities): string | undefined {
  if (caps.platform !== 'linux') return `not Linux (${caps.platform})`;
  const controller = CONTROLLER_OF[name];
  if (controller) {
    if (!caps.cgroups) return caps.cgroupsWhyNot ?? 'no cgroup hierarchy';
    if (controller === CgroupController.DEVICES && caps.cgroups.version === 'v2')
      return 'cgroup v2 controls devices through eBPF, which Mezzo does not load yet';
    const c = caps.controllers[controller];
    return c === true ? undefined : (c ?? `no ${controller} controller`);
  }
  if (name === IsolatorName.NAMESPACES_PID) return caps.unshare === true ? undefined : caps.unshare;
  return undefined;
}

/** formatChoice is the one log line an agent prints at start. */
export function formatChoice(choice: IsolationChoice): string {
  const off = choice.off.map((o) => `${o.name} (${o.why})`).join(', ');
  return `isolation on: ${choice.on.join(', ')}; off: ${off || 'none'}`;
}

/**
 * probeHost finds what this host lets the agent do: Linux or not, root or not, the cgroup
 * hierarchies from /proc/mounts, and for each controller whether `mezzo/<agentId>` can be made
 * in it (it is left there; the agent removes it when it stops); and whether unshare works.
 */
export function probeHost(agentId: string, fs: HostFs = nodeHostFs): HostCapabilities {
  const platform = process.platform;
  const root = process.getuid?.() === 0;
  const caps: HostCapabilities = { platform, root, controllers: {}, unshare: 'not Linux' };
  if (platform !== 'linux') return caps;
  let mounts = '';
  try {
    mounts = fs.read('/proc/mounts');
  } catch {
    caps.cgroupsWhyNot = 'cannot read /proc/mounts';
  }
  caps.cgroups = parseCgroupMounts(mounts, (m) => fs.read(join(m, 'cgroup.controllers')));
  if (!caps.cgroups) caps.cgroupsWhyNot ??= 'no cgroup hierarchy with usable controllers';
  else {
    for (const c of [
      CgroupController.CPU,
      CgroupController.CPUACCT,
      CgroupController.MEMORY,
      CgroupController.PIDS,
      CgroupController.DEVICES,
    ]) {
      if (!hasController(caps.cgroups, c)) {
        caps.controllers[c] = `no ${c} controller`;
        continue;
      }
      const dir = agentCgroup(caps.cgroups, c, agentId);
      try {
        fs.mkdirp(dir);
        if (caps.cgroups.version === 'v2') {
          for (const d of [caps.cgroups.mount, join(caps.cgroups.mount, CGROUP_ROOT), dir])
            fs.write(join(d, 'cgroup.subtree_control'), `+${c === 'cpuacct' ? 'cpu' : c}`);
        }
        caps.controllers[c] = true;
      } catch (err) {
        caps.controllers[c] =
          `cannot create ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}${root ? '' : ' (not root)'}`;
      }
    }
    // cgroups/cpu needs cpuacct too on v1 (cpu time comes from it).
    if (caps.cgroups.version === 'v1' && caps.controllers.cpu === true && caps.controllers.cpuacct !== true)
      caps.controllers.cpu = caps.controllers.cpuacct ?? 'no cpuacct controller';
  }
  const r = spawnSync('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', 'true'], {
    timeout: 3000,
    stdio: 'ignore',
  });
  caps.unshare =
    r.status === 0
      ? true
      : r.error
        ? `unshare unavailable (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`
        : `unshare --pid --mount-proc failed${root ? '' : ' (not root)'}`;
  return caps;
}

/** removeAgentCgroups removes the `mezzo/<agentId>` directories the probe made (once they are empty). */
export function removeAgentCgroups(agentId: string, caps: HostCapabilities, fs: HostFs = nodeHostFs): void {
  if (!caps.cgroups) return;
  const dirs = new Set<string>();
  for (const [c, ok] of Object.entries(caps.controllers))
    if (ok === true) dirs.add(agentCgroup(caps.cgroups, c as CgroupController, agentId));
  for (const dir of dirs) {
    try {
      fs.rmdir(dir);
    } catch {
      // Not empty (a container outlived its cleanup) or gone: recovery handles it next start.
    }
  }
}
