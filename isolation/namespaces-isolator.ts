import { join } from 'node:path';
import type { HostFs } from './effects.js';
import { type Isolator, IsolatorName, type LaunchPlan } from './types.js';

/** TMP_DIR is the private /tmp of a task, inside its sandbox. */
export const TMP_DIR = 'tmp';

/**
 * PID1_INIT runs as pid 1 of the task's pid namespace. pid 1 ignores every signal it has no
 * handler for, so a SIGTERM from the executor would do nothing: this init binds the private
 * /tmp ($1, when set), runs the task as its child, forwards SIGTERM and SIGINT to it, and exits
 * with its status; when pid 1 exits the kernel kills everything else in the namespace.
 */
export const PID1_INIT = [
  't=$1; shift',
  'if [ -n "$t" ]; then mount --bind "$t" /tmp || exit 125; fi',
  'trap \'kill -TERM "$c" 2>/dev/null\' TERM INT',
  '"$@" & c=$!',
  'while :; do wait "$c"; s=$?; kill -0 "$c" 2>/dev/null || exit "$s"; done',
].join('\n');

/**
 * namespacesPid runs the task under `unshare --pid --fork --mount-proc`, so it is pid 2 of its
 * own pid namespace and sees only its own processes in its own /proc. With `privateTmp` (the
 * filesystem/tmp isolator is on) the sandbox's tmp/ is bind-mounted on /tmp inside the task's
 * mount namespace.
 */
export function namespacesPid(opts: { privateTmp: boolean }): Isolator {
  return {
    name: IsolatorName.NAMESPACES_PID,
    prepare: () => {},
    procsFiles: () => [],
    wrap(_id: string, plan: LaunchPlan, sandbox: string): LaunchPlan {
      const tmp = opts.privateTmp ? join(sandbox, TMP_DIR) : '';
      return {
        program: 'unshare',
        args: [
          '--pid',
          '--fork',
          '--kill-child',
          '--mount-proc',
          '/bin/sh',
          '-c',
          PID1_INIT,
          'mezzo-init',
          tmp,
          plan.program,
          ...plan.args,
        ],
        env: plan.env,
      };
    },
    isolate: () => {},
    update: () => {},
    usage: () => ({}),
    limitation: () => undefined,
    cleanup: async () => {},
    recover: async () => [],
  };
}

/**
 * filesystemTmp gives the task a private tmp/ in its sandbox and points TMPDIR at it; with
 * namespaces/pid on, that directory is also bind-mounted on /tmp (see namespacesPid).
 */
export function filesystemTmp(fs: HostFs): Isolator {
  return {
    name: IsolatorName.FILESYSTEM_TMP,
    prepare: () => {},
    procsFiles: () => [],
    wrap(_id: string, plan: LaunchPlan, sandbox: string): LaunchPlan {
      const tmp = join(sandbox, TMP_DIR);
      fs.mkdirp(tmp);
      return { ...plan, env: { ...plan.env, TMPDIR: tmp } };
    },
    isolate: () => {},
    update: () => {},
    usage: () => ({}),
    limitation: () => undefined,
    cleanup: async () => {},
    recover: async () => [],
  };
}
