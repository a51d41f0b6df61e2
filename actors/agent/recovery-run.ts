import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../bus/index.js';
import { TASK_FILE, TaskFile } from '../executor/index.js';
import { CheckpointStore, checkpointDir, removeOtherAgents } from './checkpoint-store.js';
import type { AgentContainers } from './containers.js';
import { signalProcessGroup } from './executor-launcher.js';
import { type ProcessProbe, probeProcess } from './process-liveness.js';
import { planRecovery, type RecoverMode, type RecoveryPlan } from './recovery.js';

/** RecoveryRunOptions are what recovering at start needs. */
export interface RecoveryRunOptions {
  workDir: string;
  agentId: string;
  mode: RecoverMode;
  log: Logger;
  containers: AgentContainers;
  probe?: ProcessProbe;
}

/** containerOf reads what a sandbox's task.json says of its container: its GPUs, and whether Docker runs it. */
function containerOf(sandbox: string): { gpus: number[]; docker: boolean } {
  try {
    const file = TaskFile.parse(JSON.parse(readFileSync(join(sandbox, TASK_FILE), 'utf8')));
    return { gpus: file.isolation?.gpus ?? [], docker: file.task.container?.type === 'DOCKER' };
  } catch {
    return { gpus: [], docker: false };
  }
}

/**
 * recoverCheckpoint carries out the I/O half of recovery at start, before the containers of a
 * previous run are cleaned up and before the agent registers: it drops the checkpoints of other
 * agent ids (a reboot), reads this id's, plans (`planRecovery`), SIGKILLs what must not survive,
 * removes the checkpoints it no longer needs, and adopts the containers of live executors so that
 * they are not cleaned up as orphans. The returned store is the one the agent writes from now on.
 */
export function recoverCheckpoint(opts: RecoveryRunOptions): { plan: RecoveryPlan; store: CheckpointStore } {
  const { log } = opts;
  const stale = removeOtherAgents(opts.workDir, opts.agentId);
  if (stale.length > 0)
    log.info({ agentIds: stale }, 'removed the checkpoints of earlier agent ids (a reboot)');
  const store = new CheckpointStore(checkpointDir(opts.workDir, opts.agentId));
  const { checkpoints, unreadable } = store.readAll();
  for (const u of unreadable)
    log.error({ file: u.file, reason: u.message }, 'ignoring an unreadable checkpoint');
  const plan = planRecovery(checkpoints, opts.mode, opts.probe ?? probeProcess);
  for (const k of plan.kill) {
    log.warn({ pgid: k.pgid, reason: k.why }, 'killing a process group of the previous run');
    try {
      signalProcessGroup(k.pgid, 'SIGKILL');
    } catch (err) {
      log.error({ err, pgid: k.pgid }, 'could not kill a process group of the previous run');
    }
  }
  for (const containerId of plan.discard) store.remove(containerId);
  for (const r of plan.reattach) {
    const c = containerOf(r.sandbox);
    opts.containers.adopt(r.key, r.containerId, c.gpus, c.docker);
  }
  if (checkpoints.length > 0)
    log.info(
      {
        mode: opts.mode,
        reattached: plan.reattach.map((r) => r.key),
        ended: plan.ended,
        killed: plan.kill.length,
        dropped: plan.discard.length,
      },
      `recovered ${Object.keys(plan.tasks).length} checkpointed tasks`,
    );
  return { plan, store };
}
