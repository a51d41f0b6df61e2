import { z } from 'zod';
import { cgroupsCpu, cgroupsDevices, cgroupsMem, cgroupsPids } from './cgroups-isolator.js';
import { type HostFs, nodeHostFs } from './effects.js';
import { CgroupHierarchies } from './hierarchy.js';
import { filesystemTmp, namespacesPid } from './namespaces-isolator.js';
import { posixIsolator } from './posix-isolator.js';
import {
  ALL_ISOLATORS,
  type ContainerLimits,
  IsolationError,
  type Isolator,
  IsolatorName,
  type LaunchPlan,
  type Limitation,
  type ResourceUsage,
} from './types.js';

/**
 * PLACE_IN_CGROUPS is the launch wrapper: `sh -c PLACE mezzo-isolate N file1..fileN program args`
 * writes its own pid into each cgroup.procs file, then execs the task, so the task is inside its
 * cgroups before it runs a single instruction of its own (no race with a fork bomb or an early
 * allocation).
 */
export const PLACE_IN_CGROUPS = [
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n - 1)); done',
  'exec "$@"',
].join('\n');

/** IsolationSettings is how an agent hands its chosen isolation to an executor (in task.json). */
export const IsolationSettings = z.object({
  agentId: z.string().min(1),
  containerId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  isolators: z.array(z.enum(ALL_ISOLATORS as [IsolatorName, ...IsolatorName[]])),
  cgroups: CgroupHierarchies.optional(),
  enableCfs: z.boolean().default(false),
  pidsMax: z.number().int().positive().optional(),
  /** GPU indices given to the task; absent on an agent without GPUs. */
  gpus: z.array(z.number().int().nonnegative()).optional(),
  /** Every GPU index the agent offers, so the task can be denied the others (cgroups/devices). */
  agentGpus: z.array(z.number().int().nonnegative()).optional(),
  /** The Docker engine's socket, on an agent whose engine answered at start; absent without Docker. */
  dockerSocket: z.string().min(1).max(1024).optional(),
});
export type IsolationSettings = z.infer<typeof IsolationSettings>;

/**
 * Containerizer runs a list of isolators in order, as Mesos's MesosContainerizer does: prepare
 * each, wrap the launch (namespaces innermost, cgroup placement outermost), merge usage (later
 * isolators win), and clean up in reverse order.
 */
export class Containerizer {
  constructor(readonly isolators: readonly Isolator[]) {}

  /** names lists the isolators on, in order. */
  names(): IsolatorName[] {
    return this.isolators.map((i) => i.name);
  }

  /** prepare creates the container; if one isolator fails, those already prepared are undone. */
  async prepare(containerId: string, limits: ContainerLimits): Promise<void> {
    const done: Isolator[] = [];
    for (const iso of this.isolators) {
      try {
        iso.prepare(containerId, limits);
        done.push(iso);
      } catch (err) {
        for (const d of [...done, iso].reverse()) await d.cleanup(containerId).catch(() => {});
        throw err instanceof IsolationError
          ? err
          : new IsolationError(`${iso.name} could not prepare the container`, { cause: err });
      }
    }
  }

  /** launchPlan is the argv and env that start `program args` inside the container. */
  launchPlan(containerId: string, program: string, args: string[], sandbox: string): LaunchPlan {
    let plan: LaunchPlan = { program, args, env: {} };
    for (const iso of [...this.isolators].reverse()) plan = iso.wrap(containerId, plan, sandbox);
    // On v2 the cpu, mem and pids isolators share one cgroup, hence one cgroup.procs.
    const files = [...new Set(this.isolators.flatMap((i) => i.procsFiles(containerId)))];
    if (files.length === 0) return plan;
    return {
      program: '/bin/sh',
      args: [
        '-c',
        PLACE_IN_CGROUPS,
        'mezzo-isolate',
        String(files.length),
        ...files,
        plan.program,
        ...plan.args,
      ],
      env: plan.env,
    };
  }

  isolate(containerId: string, pid: number): void {
    for (const iso of this.isolators) iso.isolate(containerId, pid);
  }

  update(containerId: string, limits: ContainerLimits): void {
    for (const iso of this.isolators) iso.update(containerId, limits);
  }

  usage(containerId: string, pid: number | undefined, now: number): ResourceUsage {
    const out: ResourceUsage = { timestamp: now / 1000 };
    for (const iso of this.isolators) {
      for (const [k, v] of Object.entries(iso.usage(containerId, pid)))
        if (v !== undefined) (out as unknown as Record<string, number>)[k] = v;
    }
    return out;
  }

  limitation(containerId: string): Limitation | undefined {
    for (const iso of this.isolators) {
      const l = iso.limitation(containerId);
      if (l) return l;
    }
    return undefined;
  }

  /** watch polls for a limitation and calls back once; returns a function that stops watching. */
  watch(containerId: string, onLimitation: (l: Limitation) => void, intervalMs = 250): () => void {
    const timer = setInterval(() => {
      const l = this.limitation(containerId);
      if (!l) return;
      clearInterval(timer);
      onLimitation(l);
    }, intervalMs);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  /** cleanup undoes every isolator, last first; it tries them all and throws the first failure. */
  async cleanup(containerId: string): Promise<void> {
    let first: unknown;
    for (const iso of [...this.isolators].reverse()) {
      try {
        await iso.cleanup(containerId);
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  /** recover removes every container the agent left behind that is not in `known`. */
  async recover(known: ReadonlySet<string>): Promise<string[]> {
    const removed = new Set<string>();
    for (const iso of this.isolators) for (const id of await iso.recover(known)) removed.add(id);
    return [...removed].sort();
  }
}

/**
 * createContainerizer builds the isolators named in `settings`, in Mezzo's fixed order. Cgroup
 * isolators need `settings.cgroups`; without it they are left out (the agent never asks for them then).
 */
export function createContainerizer(
  settings: Pick<IsolationSettings, 'agentId' | 'isolators' | 'cgroups'>,
  fs: HostFs = nodeHostFs,
): Containerizer {
  const on = new Set(settings.isolators);
  const cg = settings.cgroups ? { fs, hierarchies: settings.cgroups, agentId: settings.agentId } : undefined;
  const isolators: Isolator[] = [];
  for (const name of ALL_ISOLATORS) {
    if (!on.has(name) && name !== IsolatorName.POSIX) continue;
    if (name === IsolatorName.POSIX) isolators.push(posixIsolator(fs));
    else if (name === IsolatorName.CGROUPS_CPU && cg) isolators.push(cgroupsCpu(cg));
    else if (name === IsolatorName.CGROUPS_MEM && cg) isolators.push(cgroupsMem(cg));
    else if (name === IsolatorName.CGROUPS_PIDS && cg) isolators.push(cgroupsPids(cg));
    else if (name === IsolatorName.CGROUPS_DEVICES && cg) isolators.push(cgroupsDevices(cg));
    else if (name === IsolatorName.NAMESPACES_PID)
      isolators.push(namespacesPid({ privateTmp: on.has(IsolatorName.FILESYSTEM_TMP) }));
    else if (name === IsolatorName.FILESYSTEM_TMP) isolators.push(filesystemTmp(fs));
  }
  return new Containerizer(isolators);
}
