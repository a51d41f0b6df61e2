import { describe, expect, it } from 'vitest';
import {
  describeJob,
  describeService,
  kindArg,
  rolledOut,
  rolloutLine,
  servicesTable,
} from '../../cli/commands/apps.js';
import type { JobView, ServiceView } from '../../frameworks/apps/api.js';
import type { JobSpec, ServiceSpec } from '../../frameworks/apps/spec.js';
import { parseSpecs } from '../../frameworks/apps/spec-file.js';

const NOW = 1_700_000_100_000;
const spec = parseSpecs(
  'kind: Service\nname: web\ncommand: serve\ninstances: 3\nports: [http]\nhealthCheck: {type: HTTP, port: http}\n',
)[0] as ServiceSpec;

function view(extra: Partial<ServiceView> = {}): ServiceView {
  const inst = (taskId: string, version: number, healthy: boolean) => ({
    taskId,
    version,
    state: 'TASK_RUNNING',
    healthy,
    agentId: 'a1',
    hostname: 'host-a',
    ports: [31000],
    startedAt: NOW - 5000,
  });
  return {
    name: 'web',
    frameworkId: 'fw-1',
    version: 2,
    spec,
    desired: 3,
    running: 4,
    healthy: 3,
    deployment: { fromVersion: 1, toVersion: 2, startedAt: NOW - 10_000, failures: 1 },
    instances: [inst('t1', 1, true), inst('t2', 2, true), inst('t3', 2, true), inst('t4', 2, false)],
    events: [{ at: NOW - 60_000, message: 'version 1: created with 3 instance(s)' }],
    ...extra,
  };
}

describe('app command rendering', () => {
  it('summarizes rollout progress and knows when it is done', () => {
    expect(rolloutLine(view())).toBe(
      'web: version 2 · 3/3 healthy · 4 instance(s) · 1 old · rolling out (1 failure(s))',
    );
    expect(rolledOut(view())).toBe(false);
    const done = view({
      deployment: undefined,
      instances: view()
        .instances.slice(1, 3)
        .concat({ ...view().instances[3], healthy: true } as ServiceView['instances'][number]),
    });
    expect(rolledOut(done)).toBe(true);
  });

  it('describes a service with its instances, health, ports and events', () => {
    const text = describeService(view(), NOW);
    expect(text).toContain('Instances:   3 healthy, 4 running, 3 desired');
    expect(text).toContain('Health:      HTTP port http /');
    expect(text).toContain('Rollout:     version 1 -> 2, started 10s ago, 1 failure(s)');
    expect(text).toMatch(/t4\s+│\s+2\s+│\s+TASK_RUNNING\s+│\s+no\s+│\s+host-a\s+│\s+31000/);
    expect(text).toContain('version 1: created with 3 instance(s)');
    expect(servicesTable([view()], NOW)).toMatch(/web\s+│\s+3\/3\s+│\s+4\s+│\s+2\s+│\s+1 -> 2/);
  });

  it('describes a failed job with its last failure', () => {
    const j: JobView = {
      name: 'doomed',
      frameworkId: 'fw-2',
      spec: parseSpecs('kind: Job\nname: doomed\ncommand: exit 4\n')[0] as JobSpec,
      phase: 'Failed',
      succeeded: 0,
      failed: 1,
      active: 0,
      createdAt: NOW - 3000,
      finishedAt: NOW - 1000,
      reason: 'completion 0 failed 1 time(s), retries 0; last: TASK_FAILED: exit code 4',
      lastFailure: 'job-doomed-g-0-0: TASK_FAILED: exit code 4',
      tasks: [{ taskId: 'job-doomed-g-0-0', index: 0, attempt: 0, state: 'TASK_FAILED' }],
      events: [],
    };
    const text = describeJob(j, NOW);
    expect(text).toContain('Phase:       Failed (completion 0 failed 1 time(s)');
    expect(text).toContain('Last failure: job-doomed-g-0-0: TASK_FAILED: exit code 4');
  });

  it('reads kinds in the singular, the plural and short', () => {
    expect(['service', 'services', 'svc', 'job', 'cronjobs', 'cj'].map(kindArg)).toEqual([
      'Service',
      'Service',
      'Service',
      'Job',
      'CronJob',
      'CronJob',
    ]);
    expect(() => kindArg('pods')).toThrow(/expected services, jobs or cronjobs/);
  });
});
