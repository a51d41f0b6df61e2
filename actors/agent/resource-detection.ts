import { resources as R, type Range, type Resources } from '../../protocol/index.js';
import type { MachineFacts } from './machine-facts.js';

/** DEFAULT_PORTS is the port range an agent offers unless told otherwise (Mesos's default). */
export const DEFAULT_PORTS: Range = [31000, 32000];

/** Memory left to the operating system: 1 GB, or half of a machine smaller than 2 GB. */
function usableMemMb(totalMb: number): number {
  return Math.floor(totalMb < 2048 ? totalMb / 2 : totalMb - 1024);
}

/** Disk left to the operating system: 5 GB, or half of a filesystem smaller than 10 GB. */
function usableDiskMb(totalMb: number): number {
  return Math.floor(totalMb < 10240 ? totalMb / 2 : totalMb - 5120);
}

/**
 * detectResources applies the Mesos detection rules to a machine: cpus = cores, mem = total less
 * 1 GB (half if under 2 GB), disk = work-dir filesystem less 5 GB (half if under 10 GB), ports
 * [31000-32000], and `gpus` when the machine has any. Every resource named in `overrides` (flag
 * syntax) replaces the detected one of that name, whatever its role; others are added as they are.
 */
export function detectResources(machine: MachineFacts, overrides?: string, gpus = 0): Resources {
  const given = overrides ? R.parseResources(overrides) : [];
  const named = new Set(given.map((r) => r.name));
  const detected: Resources = [
    { name: 'cpus', scalar: machine.cpus },
    { name: 'mem', scalar: usableMemMb(machine.memMb) },
    { name: 'disk', scalar: usableDiskMb(machine.diskMb) },
    { name: 'ports', ranges: [[...DEFAULT_PORTS]] },
    ...(gpus > 0 ? [{ name: 'gpus', scalar: gpus }] : []),
  ];
  return R.normalize([...detected.filter((r) => !named.has(r.name)), ...given]);
}

/** floor3 rounds a scalar down to Mezzo's three decimals, so shares never sum above the whole. */
function floor3(x: number): number {
  return Math.floor(x * 1000 + 1e-6) / 1000;
}

/**
 * localAgentResources gives agent `index` of `count` agents sharing one machine (`mezzo up`) a
 * 1/count share of the detected cpus, mem and disk, and a disjoint slice of the ports
 * [31000-32000]; the last slice takes the ports left over by the division. Returns flag syntax.
 */
export function localAgentResources(machine: MachineFacts, count: number, index: number): string {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`agent count must be a positive integer, got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`agent index must be in [0, ${count - 1}], got ${index}`);
  }
  const whole = detectResources(machine);
  const [begin, end] = DEFAULT_PORTS;
  const slice = Math.floor((end - begin + 1) / count);
  const first = begin + index * slice;
  const last = index === count - 1 ? end : first + slice - 1;
  const share: Resources = [
    { name: 'cpus', scalar: floor3(R.scalar(whole, 'cpus') / count) },
    { name: 'mem', scalar: Math.floor(R.scalar(whole, 'mem') / count) },
    { name: 'disk', scalar: Math.floor(R.scalar(whole, 'disk') / count) },
    ...(slice > 0 ? [{ name: 'ports', ranges: [[first, last] as Range] }] : []),
  ];
  return R.formatResources(share);
}
