import { statfsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** MachineFacts are the raw sizes resource detection starts from. */
export interface MachineFacts {
  /** Logical cores. */
  cpus: number;
  /** Total memory in MB. */
  memMb: number;
  /** Size of the filesystem holding the work dir, in MB. */
  diskMb: number;
}

const MB = 1024 * 1024;

/** readMachineFacts asks the operating system for the machine's cores, memory and work-dir disk. */
export function readMachineFacts(workDir: string): MachineFacts {
  const fs = statfsSync(workDir);
  return {
    cpus: Math.max(1, cpus().length),
    memMb: Math.floor(totalmem() / MB),
    diskMb: Math.floor((fs.blocks * fs.bsize) / MB),
  };
}
