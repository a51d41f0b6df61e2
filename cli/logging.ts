import { createLogger, type Logger } from '../bus/index.js';

/**
 * cliLogger makes the process's one logger, on stderr. MEZZO_LOG_LEVEL wins; otherwise the
 * long-running components (up, master, agent) log at info and the other commands at warn, so
 * that their own output stays readable.
 */
export function cliLogger(name: string, defaultLevel: 'info' | 'warn'): Logger {
  const level = process.env.MEZZO_LOG_LEVEL?.trim() || defaultLevel;
  return createLogger(name, level);
}
