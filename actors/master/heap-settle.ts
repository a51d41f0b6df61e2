import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/*
 * A registration storm (every agent re-registering after a failover, or a large cluster starting)
 * leaves the master's old generation holding hundreds of megabytes of garbage besides the records
 * it keeps: the messages, their tasks as decoded, the copies made of them. V8 collects them at its
 * next full collection, whenever the heap next reaches its limit: measured at 40,000 agents, some
 * 30 s later, in the middle of whatever the master was doing then, with about 0.5 s of marking on
 * its main thread while the cores are busy (a GET_STATE then took 1.4-1.8 s instead of 0.5-0.8 s).
 * The master instead collects once as soon as a storm is over, while it is quiet.
 */

/** SettleConfig says what a storm is: at least `minRegisters` REGISTERs, then `quietMs` with none. */
export interface SettleConfig {
  /** REGISTERs since the last collection that make a storm worth collecting after; 0 turns it off. */
  minRegisters: number;
  quietMs: number;
}

export const DEFAULT_SETTLE: SettleConfig = { minRegisters: 2000, quietMs: 1000 };

/** SettleState is what the master counted since its last settling collection. */
export interface SettleState {
  registers: number;
  lastRegisterAt: number;
}

/** settleDue says whether a storm has ended and its garbage should be collected now. */
export function settleDue(s: SettleState, now: number, cfg: SettleConfig): boolean {
  return cfg.minRegisters > 0 && s.registers >= cfg.minRegisters && now - s.lastRegisterAt >= cfg.quietMs;
}

/** settleConfig reads MEZZO_MASTER_SETTLE_REGISTERS (0: off) over the defaults. */
export function settleConfig(env: NodeJS.ProcessEnv): SettleConfig {
  const raw = env.MEZZO_MASTER_SETTLE_REGISTERS;
  if (raw === undefined || raw === '') return DEFAULT_SETTLE;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`MEZZO_MASTER_SETTLE_REGISTERS must be a whole number >= 0, got "${raw}"`);
  return { ...DEFAULT_SETTLE, minRegisters: n };
}

let fullCollection: (() => void) | undefined;

/** collectGarbage runs a full collection of this process's heap now. */
export function collectGarbage(): void {
  if (!fullCollection) {
    setFlagsFromString('--expose-gc');
    fullCollection = runInNewContext('gc') as () => void;
  }
  fullCollection();
}

/**
 * HeapSettle counts REGISTERs and, on a tick after a storm has ended, runs `collect` once (it
 * reports how long the collection took). Time is the caller's.
 */
export class HeapSettle {
  private s: SettleState = { registers: 0, lastRegisterAt: 0 };

  constructor(
    private readonly cfg: SettleConfig,
    private readonly collect: () => void,
    private readonly now: () => number,
  ) {}

  /** registered notes one REGISTER handled. */
  registered(): void {
    this.s.registers++;
    this.s.lastRegisterAt = this.now();
  }

  /** tick collects if a storm just ended; it returns the collection's duration (ms), else undefined. */
  tick(): number | undefined {
    const now = this.now();
    if (!settleDue(this.s, now, this.cfg)) return undefined;
    this.s = { registers: 0, lastRegisterAt: now };
    const t0 = performance.now();
    this.collect();
    return performance.now() - t0;
  }
}
