import type { Rlimit } from '../protocol/index.js';

/** PRLIMIT is util-linux's prlimit, which sets a command's rlimits and execs it. */
export const PRLIMIT = 'prlimit';

const value = (x: number | undefined) => (x === undefined ? 'unlimited' : String(x));

/** prlimitArgs are prlimit's options for a task's rlimits (`--nofile=64:128`, `--core=unlimited:unlimited`). */
export function prlimitArgs(rlimits: readonly Rlimit[]): string[] {
  return rlimits.map((r) => `--${r.type.toLowerCase()}=${value(r.soft)}:${value(r.hard)}`);
}

/** dockerUlimits are the engine's HostConfig.Ulimits for a task's rlimits (-1 is unlimited). */
export function dockerUlimits(rlimits: readonly Rlimit[]): { Name: string; Soft: number; Hard: number }[] {
  return rlimits.map((r) => ({ Name: r.type.toLowerCase(), Soft: r.soft ?? -1, Hard: r.hard ?? -1 }));
}
