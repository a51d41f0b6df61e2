import { setTimeout as sleep } from 'node:timers/promises';

/**
 * waitFor polls `probe` until it returns something other than undefined (or throws the last error
 * at the deadline); the machine is loaded, so tests poll rather than sleep fixed amounts.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${opts.what ?? 'a condition'}${lastError ? `: ${(lastError as Error).message}` : ''}`,
      );
    await sleep(opts.intervalMs ?? 200);
  }
}
