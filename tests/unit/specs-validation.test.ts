import { describe, expect, it } from 'vitest';
import { parseConstraint, satisfies } from '../../frameworks/apps/constraints.js';
import { diffSpecs } from '../../frameworks/apps/diff.js';
import { fitTask, pickPorts } from '../../frameworks/apps/offer-fit.js';
import { backoffDelayMs } from '../../frameworks/apps/spec-fields.js';
import { parseSpecs, SpecError } from '../../frameworks/apps/spec-file.js';
import { healthCheckFor, portEnv } from '../../frameworks/apps/task-info.js';
import { resources as R } from '../../protocol/index.js';

function problemsOf(text: string): string[] {
  try {
    parseSpecs(text);
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  throw new Error('expected the spec to be refused');
}

describe('spec files', () => {
  it('reads a YAML service with defaults filled in', () => {
    const [s] = parseSpecs('kind: Service\nname: web\ncommand: serve\ninstances: 2\nports: [http]\n');
    expect(s).toMatchObject({
      kind: 'Service',
      name: 'web',
      instances: 2,
      resources: { cpus: 0.1, mem: 32, disk: 0, gpus: 0 },
      upgrade: { minHealthCapacity: 1, maxOverCapacity: 1, rollbackOnFailure: true },
      restart: { backoffSeconds: 1, backoffFactor: 2, maxBackoffSeconds: 60 },
      env: {},
      constraints: [],
    });
  });

  it('reads several YAML documents and a JSON list alike', () => {
    const yaml = parseSpecs(
      'kind: Job\nname: a\ncommand: "true"\n---\nkind: CronJob\nname: b\nschedule: "*/5 * * * * *"\njob: {command: ["echo", "hi"]}\n',
    );
    expect(yaml.map((s) => `${s.kind}/${s.name}`)).toEqual(['Job/a', 'CronJob/b']);
    const json = parseSpecs(JSON.stringify([{ kind: 'Job', name: 'a', command: 'true' }]));
    expect(json[0]).toMatchObject({ kind: 'Job', completions: 1, parallelism: 1, retries: 0 });
  });

  it('names the field and the problem: services.web.instances: expected a positive integer', () => {
    expect(problemsOf('kind: Service\nname: web\ncommand: x\ninstances: two\n')).toEqual([
      'services.web.instances: expected a non-negative integer',
    ]);
    expect(problemsOf('kind: Job\nname: j\ncommand: x\ncompletions: 0\n')).toEqual([
      'jobs.j.completions: expected a positive integer',
    ]);
  });

  it('reports every problem of every document at once', () => {
    const p = problemsOf(
      [
        'kind: Service',
        'name: web',
        'command: x',
        'resources: {cpus: -1}',
        'constraints: ["zone SOMETIMES", "rack LIKE ("]',
        'upgrade: {minHealthCapacity: 1.5}',
        'colour: blue',
        '---',
        'kind: CronJob',
        'name: c',
        'schedule: "61 * * * *"',
        'timeZone: Mars/Olympus',
        'concurrencyPolicy: sometimes',
        'job: {command: x}',
        '---',
        'kind: Deployment',
        'name: d',
      ].join('\n'),
    );
    expect(p).toEqual(
      expect.arrayContaining([
        'services.web.resources.cpus: expected a positive number of cpus',
        expect.stringMatching(/^services\.web\.constraints\.0: unknown operator "SOMETIMES"/),
        expect.stringMatching(/^services\.web\.constraints\.1: invalid regular expression "\("/),
        'services.web.upgrade.minHealthCapacity: expected a number between 0 and 1',
        'services.web.colour: unknown field',
        expect.stringMatching(/^cronjobs\.c\.schedule: invalid cron expression/),
        'cronjobs.c.timeZone: expected an IANA time zone such as UTC or Europe/Paris',
        'cronjobs.c.concurrencyPolicy: expected allow, forbid or replace',
        'specs[2].kind: expected Service, Job or CronJob, got "Deployment"',
      ]),
    );
    expect(p).toHaveLength(9);
  });

  it('refuses a health check on a port the service does not have, and an upgrade that cannot progress', () => {
    expect(
      problemsOf(
        'kind: Service\nname: w\ncommand: x\nports: [http]\nhealthCheck: {type: HTTP, port: admin}\n',
      ),
    ).toEqual(['services.w.healthCheck.port: no such port "admin" in ports']);
    expect(
      problemsOf('kind: Service\nname: w\ncommand: x\nupgrade: {minHealthCapacity: 1, maxOverCapacity: 0}\n'),
    ).toEqual([
      'services.w.upgrade.maxOverCapacity: minHealthCapacity 1 with maxOverCapacity 0 leaves no room to replace an instance',
    ]);
  });

  it('refuses bad names, missing commands, duplicates, broken YAML and empty files', () => {
    expect(problemsOf('kind: Job\nname: Bad_Name\ncommand: x\n')[0]).toMatch(
      /^jobs\.Bad_Name\.name: expected 1-40 lowercase/,
    );
    expect(problemsOf('kind: Job\nname: j\nimage: alpine\n')).toEqual([
      'jobs.j.command: expected a command (with an image, the command runs inside it)',
    ]);
    expect(problemsOf('kind: Job\nname: j\ncommand: x\n---\nkind: Job\nname: j\ncommand: y\n')).toEqual([
      'jobs.j: defined twice',
    ]);
    expect(problemsOf('kind: [unclosed\n')[0]).toMatch(/^\(file\): invalid YAML/);
    expect(problemsOf('{"kind": ')[0]).toMatch(/^\(file\): invalid JSON/);
    expect(problemsOf('# nothing\n')).toEqual(['(file): no spec found']);
  });
});

describe('constraints', () => {
  const at = (hostname: string, attributes: Record<string, string> = {}) => ({ hostname, attributes });
  it('parses field OPERATOR value and refuses what it cannot use', () => {
    expect(parseConstraint('zone UNIQUE')).toEqual({ field: 'zone', operator: 'UNIQUE' });
    expect(parseConstraint('rack like a.*')).toEqual({ field: 'rack', operator: 'LIKE', value: 'a.*' });
    expect(() => parseConstraint('zone')).toThrow(/field OPERATOR/);
    expect(() => parseConstraint('zone CLUSTER')).toThrow(/CLUSTER needs a value/);
    expect(() => parseConstraint('zone MAX_PER x')).toThrow(/positive integer/);
  });
  it('UNIQUE, LIKE, UNLIKE, CLUSTER and MAX_PER judge a candidate against the instances placed', () => {
    const placed = [at('h1', { zone: 'west', rack: 'a1' })];
    expect(satisfies(parseConstraint('hostname UNIQUE'), at('h1'), placed)).toBe(false);
    expect(satisfies(parseConstraint('hostname UNIQUE'), at('h2'), placed)).toBe(true);
    expect(satisfies(parseConstraint('zone UNIQUE'), at('h2', { zone: 'west' }), placed)).toBe(false);
    expect(satisfies(parseConstraint('zone UNIQUE'), at('h2'), placed)).toBe(false); // no zone attribute
    expect(satisfies(parseConstraint('rack LIKE a.*'), at('h2', { rack: 'a7' }), placed)).toBe(true);
    expect(satisfies(parseConstraint('rack LIKE a.*'), at('h2', { rack: 'ba' }), placed)).toBe(false); // anchored
    expect(satisfies(parseConstraint('rack UNLIKE a.*'), at('h2', { rack: 'a7' }), placed)).toBe(false);
    expect(satisfies(parseConstraint('zone CLUSTER west'), at('h2', { zone: 'west' }), placed)).toBe(true);
    expect(satisfies(parseConstraint('zone MAX_PER 2'), at('h2', { zone: 'west' }), placed)).toBe(true);
    expect(satisfies(parseConstraint('zone MAX_PER 1'), at('h2', { zone: 'west' }), placed)).toBe(false);
  });
});

describe('offers, ports and environment', () => {
  it('takes the lowest free ports and the resources, or nothing when they do not fit', () => {
    expect(
      pickPorts(
        [
          [31005, 31006],
          [31000, 31000],
        ],
        2,
      ),
    ).toEqual([31000, 31005]);
    expect(pickPorts([[31000, 31000]], 2)).toBeUndefined();
    const offer = R.parseResources('cpus:1;mem:128;ports:[31000-31001]');
    const fit = fitTask(offer, R.parseResources('cpus:0.5;mem:64'), 1);
    expect(fit?.ports).toEqual([31000]);
    const left = R.subtract(offer, fit?.resources ?? []);
    expect(fitTask(left, R.parseResources('cpus:0.5;mem:64'), 1)?.ports).toEqual([31001]);
    expect(
      fitTask(
        R.subtract(left, fitTask(left, R.parseResources('cpus:0.5;mem:64'), 1)?.resources ?? []),
        R.parseResources('cpus:0.1;mem:1'),
        0,
      ),
    ).toBeUndefined();
  });
  it('names ports PORT, PORT0.. and PORT_<NAME>, and points the health check at the named port', () => {
    expect(portEnv([31000, 31001], ['http', 'admin'])).toEqual({
      PORT: '31000',
      PORT0: '31000',
      PORT1: '31001',
      PORT_HTTP: '31000',
      PORT_ADMIN: '31001',
    });
    const hc = healthCheckFor(
      {
        type: 'HTTP',
        port: 'admin',
        path: '/health',
        delaySeconds: 1,
        intervalSeconds: 2,
        timeoutSeconds: 2,
        gracePeriodSeconds: 5,
        consecutiveFailures: 3,
      },
      [31000, 31001],
      ['http', 'admin'],
    );
    expect(hc).toMatchObject({ type: 'HTTP', http: { port: 31001, path: '/health' } });
  });
  it('grows the backoff by its factor up to the cap', () => {
    const b = { backoffSeconds: 1, backoffFactor: 2, maxBackoffSeconds: 5 };
    expect([0, 1, 2, 3, 4].map((n) => backoffDelayMs(b, n))).toEqual([0, 1000, 2000, 4000, 5000]);
  });
  it('lists changes leaf by leaf', () => {
    expect(
      diffSpecs({ a: 1, env: { X: '1' }, l: [1] }, { a: 1, env: { X: '2', Y: '3' }, l: [1, 2] }),
    ).toEqual(['env.X: "1" -> "2"', 'env.Y: (none) -> "3"', 'l: [1] -> [1,2]']);
    expect(diffSpecs({ a: 1 }, { a: 1 })).toEqual([]);
  });
});
