import { readFileSync } from 'node:fs';

/**
 * ProcessProbe tells whether a process the agent recorded is still the same process: its pid
 * alone is not enough, since the kernel reuses pids.
 */
export type ProcessProbe = (pid: number, startTime: string | undefined) => ProcessLiveness;

/**
 * ProcessLiveness is what a probe found: `same` (the recorded process runs), `gone` (no process
 * has that pid, or only a zombie), or `other` (a different process took the pid since).
 */
export type ProcessLiveness = 'same' | 'gone' | 'other';

/** statFields are the fields of `/proc/<pid>/stat` after the command name (field 3 onwards). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * processStartTime is a process's start time in clock ticks since boot (`/proc/<pid>/stat` field
 * 22), which with the pid names one process for the life of the machine; undefined when gone.
 */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const fields = statFields(pid);
  // Field 22 overall is index 19 once fields 1 (pid) and 2 (comm) are cut off.
  return fields?.[19];
}

/**
 * probeProcess compares a live pid with what was recorded of it. Without a recorded start time
 * a live pid counts as the same process (the best that can be known).
 */
export const probeProcess: ProcessProbe = (pid, startTime) => {
  if (!Number.isInteger(pid) || pid <= 1) return 'gone';
  const fields = statFields(pid);
  if (!fields || fields[0] === 'Z' || fields[0] === 'X') return 'gone';
  if (startTime === undefined) return 'same';
  return fields[19] === startTime ? 'same' : 'other';
};
