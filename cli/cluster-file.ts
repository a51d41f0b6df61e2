import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';

/** ClusterFile is `<data>/cluster.json`: how other commands find the cluster `mezzo up` runs. */
export const ClusterFile = z.object({
  natsUrl: z.string().min(1),
  prefix: z.string().min(1),
  /** The `mezzo up` process; the file is stale once it is gone. */
  pid: z.number().int().positive(),
  startedAt: z.number().optional(),
  agents: z.array(z.object({ id: z.string(), workDir: z.string() })).default([]),
  /** The operator credentials commands connect with (the `admin` superuser `mezzo up` issued). */
  creds: z.string().optional(),
  /** The nats-server `mezzo up` spawned: `mezzo creds add` reloads it, its users file is in `natsDir`. */
  natsPid: z.number().int().positive().optional(),
  natsDir: z.string().optional(),
  /** Every node of the nats-server cluster `mezzo up --masters` spawned (each keeps its config in natsDir/n<i>). */
  natsPids: z.array(z.number().int().positive()).optional(),
  /** The CA that signed the certificate of a TLS nats-server (`mezzo up --tls-cert`). */
  tlsCa: z.string().optional(),
});
export type ClusterFile = z.infer<typeof ClusterFile>;

/** clusterFilePath is where the cluster file of a data dir lives. */
export function clusterFilePath(dataDir: string): string {
  return join(dataDir, 'cluster.json');
}

/** readClusterFile reads a data dir's cluster file; undefined when absent or unreadable. */
export function readClusterFile(dataDir: string): ClusterFile | undefined {
  const path = clusterFilePath(dataDir);
  if (!existsSync(path)) return undefined;
  try {
    const parsed = ClusterFile.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** writeClusterFile writes the cluster file atomically (write, then rename). */
export function writeClusterFile(dataDir: string, file: ClusterFile): void {
  const path = clusterFilePath(dataDir);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`);
  renameSync(tmp, path);
}

/** removeClusterFile deletes the cluster file if it is still the one this process wrote. */
export function removeClusterFile(dataDir: string, pid: number = process.pid): void {
  const current = readClusterFile(dataDir);
  if (current && current.pid !== pid) return;
  rmSync(clusterFilePath(dataDir), { force: true });
}

/** processAlive tells whether a pid runs (signal 0 probes without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
