import { performance } from 'node:perf_hooks';
import { type Allocation, HierarchicalAllocator } from '../../actors/master/allocator/index.js';
import { resources as R } from '../../protocol/index.js';

/** PointOptions is one grid point of the DeclineOffers scenario. */
export interface PointOptions {
  agents: number;
  frameworks: number;
  /** Rounds to run (at most Mesos's 2 x frameworks); default DEFAULT_ROUNDS. */
  rounds?: number;
  seed?: number;
}

/** PointResult is what one grid point measured. */
export interface PointResult {
  agents: number;
  frameworks: number;
  /** Rounds run, out of the 2 x frameworks Mesos's benchmark runs. */
  rounds: number;
  fullRounds: number;
  /** Rounds that made at least one offer; cycle percentiles are over these. */
  offerRounds: number;
  cycleMsP50: number;
  cycleMsP99: number;
  /** Median run time of the rounds that made no offer (every agent filtered by everyone), if any. */
  idleMsP50?: number;
  /** Median offers per offer-making round. */
  offersP50: number;
  /** Median time to recover (decline with a filter) one round's offers, outside the timed cycle. */
  recoverMsP50: number;
  setupMs: number;
}

const AGENT = R.parseResources('cpus:24;mem:4096;disk:4096;ports:[31000-32000]');
const USED = R.parseResources('cpus:16;mem:2014;disk:1024;ports:[31000-31015]');
/** Mesos declines with refuse_seconds = INT_MAX. */
const FOREVER_MS = 2_147_483_647 * 1000;
/** Above this many filters (agents x frameworks) a full run does not fit comfortably in memory and time. */
export const FULL_RUN_MAX_FILTERS = 10_000_000;
/** Rounds of a default run: Mesos's first rounds, where every agent is offered each round. */
export const DEFAULT_ROUNDS = 20;

function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * runPoint runs Mesos's DeclineOffers benchmark on the pure allocator: agents of
 * `cpus:24;mem:4096;disk:4096;ports:[31000-32000]`, each with `cpus:16;mem:2014;disk:1024` and 16
 * ports used by one framework (round-robin), all frameworks in role `*`. Each round first declines
 * every offer of the previous round with a filter that never expires (outside the timer), then
 * times one allocation run.
 */
export function runPoint(opts: PointOptions): PointResult {
  const { agents, frameworks } = opts;
  const fullRounds = 2 * frameworks;
  const rounds = Math.min(opts.rounds ?? DEFAULT_ROUNDS, fullRounds);
  const t0 = performance.now();
  const alloc = new HierarchicalAllocator({ seed: opts.seed ?? 42 });
  const fids = Array.from({ length: frameworks }, (_, i) => `f${String(i).padStart(5, '0')}`);
  for (const id of fids) alloc.addFramework(id, { roles: ['*'] });
  for (let i = 0; i < agents; i++) {
    alloc.addAgent(`a${String(i).padStart(6, '0')}`, AGENT, [
      { frameworkId: fids[i % frameworks], role: '*', resources: USED },
    ]);
  }
  const setupMs = performance.now() - t0;
  const now = 1_000;
  const cycles: number[] = [];
  const idle: number[] = [];
  const offers: number[] = [];
  const recovers: number[] = [];
  let last: Allocation[] = [];
  for (let round = 0; round < rounds; round++) {
    const r0 = performance.now();
    for (const o of last)
      alloc.recover(o.frameworkId, o.role, o.agentId, o.resources, { expiresAt: now + FOREVER_MS });
    if (last.length) recovers.push(performance.now() - r0);
    const c0 = performance.now();
    last = alloc.allocate(now);
    const ms = performance.now() - c0;
    if (last.length > 0) {
      cycles.push(ms);
      offers.push(last.length);
    } else idle.push(ms);
  }
  return {
    agents,
    frameworks,
    rounds,
    fullRounds,
    offerRounds: cycles.length,
    cycleMsP50: pct(cycles, 50),
    cycleMsP99: pct(cycles, 99),
    idleMsP50: idle.length ? pct(idle, 50) : undefined,
    offersP50: pct(offers, 50),
    recoverMsP50: pct(recovers, 50),
    setupMs,
  };
}

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** formatLine writes a result as the benchmark's summary line. */
export function formatLine(r: PointResult): string {
  const extra = [
    `rounds=${r.rounds}/${r.fullRounds}`,
    `offer_rounds=${r.offerRounds}`,
    `offers_p50=${r.offersP50}`,
    ...(r.idleMsP50 !== undefined ? [`idle_ms_p50=${fmt(r.idleMsP50)}`] : []),
    `recover_ms_p50=${fmt(r.recoverMsP50)}`,
    `setup_ms=${fmt(r.setupMs)}`,
  ];
  return `allocator agents=${r.agents} frameworks=${r.frameworks} cycle_ms_p50=${fmt(r.cycleMsP50)} cycle_ms_p99=${fmt(r.cycleMsP99)} ${extra.join(' ')}`;
}
