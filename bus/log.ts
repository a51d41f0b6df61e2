import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * createLogger makes the one pino root of a process. Level comes from MEZZO_LOG_LEVEL (default
 * info); logs go to stderr so that stdout stays for a command's own output.
 */
export function createLogger(name: string, level: string = process.env.MEZZO_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level }, pino.destination({ fd: 2, sync: false }));
}

/** silentLogger is for tests and embedded use. */
export const silentLogger: Logger = pino({ level: 'silent' });
