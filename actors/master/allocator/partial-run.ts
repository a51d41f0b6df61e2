/** RunEpochs are the allocator's counters of changes that can make an unchanged agent offer again. */
export interface RunEpochs {
  /** A (framework, role) may newly take: added, activated, revived. */
  candidates: number;
  /** Quota or, under quota, any allocation changed. */
  quota: number;
  /** A filter was dropped before it expired. */
  bits: number;
}

/** FullRun is what held at the last run over every agent, and the earliest skip time seen since. */
export interface FullRun extends RunEpochs {
  /** The earliest time an agent's skip record runs out (a filter expires). */
  until: number;
}

/** NO_FULL_RUN is the state before any full run: the first run is always full. */
export const NO_FULL_RUN: FullRun = { candidates: -1, quota: -1, bits: -1, until: Number.NEGATIVE_INFINITY };

/**
 * mayRunPartially says whether a run may visit only the agents whose resources changed: nothing
 * else that could make an agent offer again has changed since the last full run (`last`), no
 * skip record has run out, and no role's guarantee is unmet (the guarantee stage goes over all).
 */
export function mayRunPartially(
  last: FullRun,
  now: RunEpochs,
  time: number,
  unmetGuarantee: boolean,
): boolean {
  return (
    !unmetGuarantee &&
    last.candidates === now.candidates &&
    last.quota === now.quota &&
    last.bits === now.bits &&
    time < last.until
  );
}
