/**
 * EpochGate is the receiving side of leader terms: it remembers the newest epoch seen and tells a
 * message from a newer leader, from the current one, and from a deposed one (to be ignored).
 * Messages without an epoch (a master running without election) always pass.
 */
export type EpochVerdict = 'current' | 'newer' | 'stale';

/** judgeEpoch compares a message's epoch with the newest seen; pure. */
export function judgeEpoch(newest: number, epoch: number | undefined): EpochVerdict {
  if (epoch === undefined || epoch === newest) return 'current';
  return epoch > newest ? 'newer' : 'stale';
}

/** EpochGate keeps the newest epoch seen by one receiver. */
export class EpochGate {
  private newestSeen = 0;

  /** newest is the newest epoch seen (0: none yet). */
  get newest(): number {
    return this.newestSeen;
  }

  /** admit judges a message's epoch and remembers it when newer. */
  admit(epoch: number | undefined): EpochVerdict {
    const verdict = judgeEpoch(this.newestSeen, epoch);
    if (verdict === 'newer') this.newestSeen = epoch as number;
    return verdict;
  }
}
