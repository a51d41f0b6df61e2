import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../../frameworks/apps/spec.js';
import { parseSpecs } from '../../frameworks/apps/spec-file.js';
import {
  counts,
  expire,
  type JobState,
  jobPlan,
  jobTaskId,
  launched,
  newJob,
  nextWakeup,
  taskUpdated,
} from '../../frameworks/jobs/index.js';

const T0 = 1_700_000_000_000;
const job = (extra = ''): JobState =>
  newJob(parseSpecs(`kind: Job\nname: j\ncommand: x\n${extra}`)[0] as JobSpec, T0);
const where = { agentId: 'a1', hostname: 'h1', attributes: {} };
const status = (taskId: string, state: string, more: Record<string, unknown> = {}) =>
  ({ taskId, state, source: 'SOURCE_EXECUTOR', timestamp: 0, ...more }) as never;

function launchAll(j: JobState, now: number): JobState {
  let s = j;
  for (const l of jobPlan(j, now).launch)
    s = launched(s, jobTaskId(s, l.index, l.attempt), { ...l, ...where }, now);
  return s;
}

describe('job progress', () => {
  it('fills at most `parallelism` slots with the lowest completions', () => {
    const j = job('completions: 5\nparallelism: 2\n');
    expect(jobPlan(j, T0).launch).toEqual([
      { index: 0, attempt: 0 },
      { index: 1, attempt: 0 },
    ]);
    const running = launchAll(j, T0);
    expect(jobPlan(running, T0).launch).toEqual([]);
    const one = taskUpdated(running, status(jobTaskId(j, 0, 0), 'TASK_FINISHED'), T0);
    expect(jobPlan(one, T0).launch).toEqual([{ index: 2, attempt: 0 }]);
  });

  it('retries a failed completion after its backoff, then succeeds when all completions finished', () => {
    const j = launchAll(job('retries: 1\nbackoff: {backoffSeconds: 2}\n'), T0);
    const failed = taskUpdated(j, status(jobTaskId(j, 0, 0), 'TASK_FAILED', { exitCode: 1 }), T0);
    expect(failed.phase).toBe('Running');
    expect(nextWakeup(failed)).toBe(T0 + 2000);
    expect(jobPlan(failed, T0 + 1999).launch).toEqual([]);
    expect(jobPlan(failed, T0 + 2000).launch).toEqual([{ index: 0, attempt: 1 }]);
    const retried = launchAll(failed, T0 + 2000);
    const done = taskUpdated(retried, status(jobTaskId(j, 0, 1), 'TASK_FINISHED'), T0 + 3000);
    expect(done.phase).toBe('Succeeded');
    expect(counts(done)).toEqual({ succeeded: 1, failed: 1, active: 0 });
  });

  it('fails once a completion has used up its retries, keeping the last reason, and kills the rest', () => {
    const j = launchAll(job('completions: 2\nparallelism: 2\nretries: 0\n'), T0);
    const failed = taskUpdated(
      j,
      status(jobTaskId(j, 1, 0), 'TASK_FAILED', { exitCode: 3, message: 'boom' }),
      T0,
    );
    expect(failed.phase).toBe('Failed');
    expect(failed.lastFailure).toBe(`${jobTaskId(j, 1, 0)}: TASK_FAILED: exit code 3: boom`);
    expect(failed.reason).toMatch(/completion 1 failed 1 time\(s\), retries 0/);
    expect(jobPlan(failed, T0)).toEqual({ launch: [], kill: [jobTaskId(j, 0, 0)] });
    // The KILLED update of the task it killed is not another failure.
    const after = taskUpdated(failed, status(jobTaskId(j, 0, 0), 'TASK_KILLED'), T0);
    expect(counts(after).failed).toBe(1);
  });

  it('fails a job still running past its active deadline', () => {
    const j = launchAll(job('activeDeadlineSeconds: 10\n'), T0);
    expect(expire(j, T0 + 9_999)).toBe(j);
    const late = expire(j, T0 + 10_000);
    expect(late.phase).toBe('Failed');
    expect(late.reason).toMatch(/^DeadlineExceeded/);
    expect(jobPlan(late, T0 + 10_000).kill).toEqual([jobTaskId(j, 0, 0)]);
  });

  it('ignores a resent terminal update', () => {
    const j = launchAll(job('retries: 3\n'), T0);
    const once = taskUpdated(j, status(jobTaskId(j, 0, 0), 'TASK_FAILED'), T0);
    expect(taskUpdated(once, status(jobTaskId(j, 0, 0), 'TASK_FAILED'), T0)).toBe(once);
  });
});
