import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { ID_PATTERN } from '../../protocol/index.js';
import { type CheckpointOp, TaskCheckpoint } from './checkpoint.js';

/** CheckpointError is a checkpoint that could not be written or removed; `cause` is the system's error. */
export class CheckpointError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CheckpointError';
  }
}

/** agentsMetaDir holds one folder per agent id this work dir has had. */
export function agentsMetaDir(workDir: string): string {
  return join(workDir, 'meta', 'agents');
}

/** checkpointDir is where an agent keeps one file per task: `<workDir>/meta/agents/<agentId>/tasks`. */
export function checkpointDir(workDir: string, agentId: string): string {
  return join(agentsMetaDir(workDir), agentId, 'tasks');
}

/** Unreadable is a checkpoint file that could not be taken back, and why. */
export interface Unreadable {
  file: string;
  message: string;
}

/** fsyncPath flushes a file or directory to disk. */
function fsyncPath(path: string, flags: string): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * CheckpointStore keeps the agent's task checkpoints, one JSON file per task, named by its
 * container id. Every write is atomic: the text goes to a temporary file that is fsynced, then
 * renamed over the old one, and the directory is fsynced, so a crash leaves the old file or the
 * new one, never half of either.
 */
export class CheckpointStore {
  constructor(readonly dir: string) {}

  private file(containerId: string): string {
    if (!ID_PATTERN.test(containerId))
      throw new CheckpointError(`bad container id ${JSON.stringify(containerId)}`);
    return join(this.dir, `${containerId}.json`);
  }

  /** write replaces one task's checkpoint atomically. */
  write(containerId: string, data: TaskCheckpoint): void {
    const file = this.file(containerId);
    const tmp = join(this.dir, `.${containerId}.json.tmp`);
    try {
      mkdirSync(this.dir, { recursive: true });
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(data)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
      fsyncPath(this.dir, 'r');
    } catch (err) {
      throw new CheckpointError(`could not checkpoint container ${containerId}`, { cause: err });
    }
  }

  /** remove drops one task's checkpoint; one that is not there is fine. */
  remove(containerId: string): void {
    try {
      rmSync(this.file(containerId), { force: true });
    } catch (err) {
      throw new CheckpointError(`could not remove the checkpoint of container ${containerId}`, {
        cause: err,
      });
    }
  }

  /** apply carries out a step's checkpoint operations in order. */
  apply(ops: readonly CheckpointOp[]): void {
    for (const op of ops) {
      if (op.op === 'write') this.write(op.containerId, op.data);
      else this.remove(op.containerId);
    }
  }

  /**
   * readAll reads every checkpoint. A file that is not valid JSON, does not match the schema, or
   * is named after another container than it holds is reported as unreadable and left alone;
   * temporary files a crash left mid-write are removed.
   */
  readAll(): { checkpoints: TaskCheckpoint[]; unreadable: Unreadable[] } {
    const checkpoints: TaskCheckpoint[] = [];
    const unreadable: Unreadable[] = [];
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { checkpoints, unreadable };
      throw new CheckpointError(`could not list ${this.dir}`, { cause: err });
    }
    for (const name of names.sort()) {
      const path = join(this.dir, name);
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        rmSync(path, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const parsed = TaskCheckpoint.safeParse(JSON.parse(readFileSync(path, 'utf8')));
        if (!parsed.success) {
          unreadable.push({ file: path, message: parsed.error.issues[0]?.message ?? 'invalid' });
        } else if (`${parsed.data.containerId}.json` !== name) {
          unreadable.push({ file: path, message: `holds container ${parsed.data.containerId}` });
        } else {
          checkpoints.push(parsed.data);
        }
      } catch (err) {
        unreadable.push({ file: path, message: (err as Error).message });
      }
    }
    return { checkpoints, unreadable };
  }

  /** clear removes every checkpoint (recover=cleanup, once the processes are killed). */
  clear(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * removeOtherAgents removes the checkpoints of every other agent id this work dir has had: a new
 * id means the machine rebooted (every task died with it) or the operator started afresh.
 */
export function removeOtherAgents(workDir: string, agentId: string): string[] {
  const dir = agentsMetaDir(workDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed = names.filter((n) => n !== agentId);
  for (const n of removed) rmSync(join(dir, n), { recursive: true, force: true });
  return removed;
}
