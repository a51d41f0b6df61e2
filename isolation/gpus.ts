import { spawnSync } from 'node:child_process';

/** Gpu is one NVIDIA GPU as nvidia-smi lists it. */
export interface Gpu {
  index: number;
  uuid: string;
  name: string;
  memoryMb: number;
}

/** NVIDIA_SMI_ARGS are the arguments of the detection query. */
export const NVIDIA_SMI_ARGS = ['--query-gpu=index,uuid,name,memory.total', '--format=csv,noheader'];

/** parseNvidiaSmi reads `index, uuid, name, memory.total` CSV lines (`0, GPU-..., NVIDIA H100, 81559 MiB`). */
export function parseNvidiaSmi(text: string): Gpu[] {
  const gpus: Gpu[] = [];
  for (const line of text.split('\n')) {
    const parts = line.split(',').map((p) => p.trim());
    if (parts.length < 4) continue;
    const index = Number(parts[0]);
    if (!Number.isInteger(index) || index < 0) continue;
    const memoryMb = Number.parseInt(parts[parts.length - 1], 10);
    gpus.push({
      index,
      uuid: parts[1],
      name: parts.slice(2, -1).join(', '),
      memoryMb: Number.isFinite(memoryMb) ? memoryMb : 0,
    });
  }
  return gpus.sort((a, b) => a.index - b.index);
}

/**
 * detectGpus runs nvidia-smi (found on `path`, the agent's PATH by default); a missing binary, a
 * failure or a timeout means no GPUs.
 */
export function detectGpus(path = process.env.PATH ?? ''): Gpu[] {
  const r = spawnSync('nvidia-smi', NVIDIA_SMI_ARGS, {
    encoding: 'utf8',
    timeout: 5000,
    env: { ...process.env, PATH: path },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  if (r.error || r.status !== 0) return [];
  return parseNvidiaSmi(r.stdout);
}

/**
 * assignGpus picks the `count` lowest free indices, or undefined when too few are free. A
 * fractional count is rounded up (GPUs are not shared).
 */
export function assignGpus(
  all: readonly number[],
  taken: ReadonlySet<number>,
  count: number,
): number[] | undefined {
  const want = Math.ceil(count - 1e-9);
  if (want <= 0) return [];
  const free = [...all].sort((a, b) => a - b).filter((i) => !taken.has(i));
  return free.length >= want ? free.slice(0, want) : undefined;
}

/** NVIDIA_MAJOR is the character-device major number of /dev/nvidia<N>. */
export const NVIDIA_MAJOR = 195;

/**
 * gpuDeviceDenials are the device rules that keep a task off the agent's GPUs it was not given
 * (`c 195:<minor> rwm`; the control devices nvidiactl and nvidia-uvm stay allowed, as in Mesos).
 * The minor number of /dev/nvidia<N> is taken to be the GPU's nvidia-smi index, which is what
 * the driver assigns in PCI order.
 */
export function gpuDeviceDenials(agentGpus: readonly number[], given: readonly number[]): string[] {
  const mine = new Set(given);
  return [...agentGpus]
    .filter((i) => !mine.has(i))
    .sort((a, b) => a - b)
    .map((i) => `c ${NVIDIA_MAJOR}:${i} rwm`);
}

/** cudaVisibleDevices is the CUDA_VISIBLE_DEVICES of a task given these indices (empty: none). */
export function cudaVisibleDevices(indices: readonly number[]): string {
  return indices.join(',');
}
