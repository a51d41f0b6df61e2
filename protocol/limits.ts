/** Limits every component enforces on what it accepts from the bus. */
export const Limits = {
  /** The largest encoded message a component decodes; larger ones are rejected unread. */
  maxMessageBytes: 1024 * 1024,
  /** The most tasks in one ACCEPT call. */
  maxTasksPerAccept: 10_000,
  /** The most offers in one ACCEPT or DECLINE. */
  maxOffersPerCall: 1_000,
  /** The longest shell command or argv element. */
  maxCommandChars: 64 * 1024,
  /** The most environment variables of one task. */
  maxEnvVars: 1_000,
  /** The most resources in one resource list. */
  maxResources: 256,
  /** The most ranges of one range resource. */
  maxRanges: 1_024,
  /** The most items in one batched message (STATUS_UPDATES, STATUS_UPDATE_ACKS, ACKNOWLEDGE_BATCH). */
  maxBatch: 10_000,
  /** The most tasks in one page of GET_STATE. */
  maxStateTasksPerPage: 100_000,
  /** The most tasks named in one RECONCILE. */
  maxReconcileTasks: 100_000,
} as const;
