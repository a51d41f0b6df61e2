import { describe, expect, it } from 'vitest';
import {
  agentsTable,
  ago,
  formatScalar,
  frameworksTable,
  resourceList,
  tasksTable,
  usedOfTotal,
} from '../../cli/index.js';
import { type AgentView, resources as R, type TaskView } from '../../protocol/index.js';

describe('resource formatting', () => {
  it('writes used of total in the usual order, counting port ranges', () => {
    const total = R.parseResources('ports:[31000-32000];disk:40000;mem:8192;cpus:4;gpus:1');
    const used = R.parseResources('cpus:1;mem:512;ports:[31000-31001]');
    expect(usedOfTotal(used, total)).toBe('cpus 1/4 · mem 512/8192 · disk 0/40000 · gpus 0/1 · ports 2/1001');
  });

  it('writes a resource list, and a dash for nothing', () => {
    expect(resourceList(R.parseResources('mem:32;cpus:0.1;ports:[80-80,31000-31002]'))).toBe(
      'cpus 0.1 · mem 32 · ports [80,31000-31002]',
    );
    expect(resourceList([])).toBe('-');
  });

  it('keeps three decimals at most', () => {
    expect([formatScalar(0.1 + 0.2), formatScalar(2), formatScalar(1 / 3)]).toEqual(['0.3', '2', '0.333']);
  });

  it('writes ages in the largest whole unit', () => {
    expect([
      ago(100_000, 58_000),
      ago(1e6, 1e6 - 300_000),
      ago(1e8, 1e8 - 7_200_000),
      ago(1e9, 1e9 - 3 * 86_400_000),
    ]).toEqual(['42s', '5m', '2h', '3d']);
  });
});

describe('tables', () => {
  const a: AgentView = {
    id: 'a1',
    hostname: 'host-1',
    status: 'ACTIVE',
    attributes: {},
    total: R.parseResources('cpus:4;mem:8192'),
    used: R.parseResources('cpus:1;mem:512'),
    offered: [],
    registeredAt: 0,
    lastSeenAt: 9_000,
    version: '0.1.0',
    tasks: 1,
  };

  it('lists agents with used of total, without colour codes', () => {
    const out = agentsTable([a], 10_000);
    expect(out).toContain('a1');
    expect(out).toContain('cpus 1/4 · mem 512/8192');
    expect(out).toContain('1s ago');
    expect(out).not.toContain('\u001b[');
  });

  it('lists tasks with the exit code of failed ones', () => {
    const t: TaskView = {
      taskId: 't1',
      frameworkId: 'f1',
      agentId: 'a1',
      name: 'n',
      state: 'TASK_FAILED',
      exitCode: 7,
      resources: R.parseResources('cpus:0.1;mem:32'),
      command: 'sh -c exit 7',
      updatedAt: 0,
    };
    const out = tasksTable([t], 0);
    expect(out).toContain('TASK_FAILED (7)');
    expect(out).toContain('cpus 0.1 · mem 32');
  });

  it('says so when a list is empty', () => {
    expect(agentsTable([], 0)).toBe('no agents');
    expect(frameworksTable([], 0)).toBe('no frameworks');
    expect(tasksTable([], 0)).toBe('no tasks');
  });
});
