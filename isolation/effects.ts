import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';

/**
 * HostFs is every effect the isolators have on the host: cgroup files, /proc and signals. The
 * decisions are tested against a fake cgroup tree in a temp dir by swapping `rmdir` and `kill`.
 */
export interface HostFs {
  exists(path: string): boolean;
  mkdirp(path: string): void;
  /** Removes one (empty) cgroup directory; a real cgroup holds only its interface files. */
  rmdir(path: string): void;
  read(path: string): string;
  write(path: string, value: string): void;
  /** Names of the subdirectories of a directory (none when it is missing). */
  subdirs(path: string): string[];
  /** Names in a directory (none when it is missing). */
  list(path: string): string[];
  kill(pid: number, signal: 'SIGKILL' | 'SIGTERM'): void;
  now(): number;
}

/** nodeHostFs is HostFs on the real machine. */
export const nodeHostFs: HostFs = {
  exists: (p) => existsSync(p),
  mkdirp: (p) => {
    mkdirSync(p, { recursive: true });
  },
  rmdir: (p) => rmdirSync(p),
  read: (p) => readFileSync(p, 'utf8'),
  write: (p, v) => writeFileSync(p, v),
  subdirs: (p) => {
    try {
      return readdirSync(p).filter((n) => {
        try {
          return statSync(`${p}/${n}`).isDirectory();
        } catch {
          return false;
        }
      });
    } catch {
      return [];
    }
  },
  list: (p) => {
    try {
      return readdirSync(p);
    } catch {
      return [];
    }
  },
  kill: (pid, signal) => {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  },
  now: () => Date.now(),
};

/** sleep waits; cleanup polls a cgroup until its last process is reaped. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
