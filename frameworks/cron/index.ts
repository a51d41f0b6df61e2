/** The cron framework: fires Jobs on cron schedules (Chronos's job). */
export { type CronFramework, type CronFrameworkOptions, startCronFramework } from './cron-framework.js';
export * from './cron-state.js';
export * from './schedule.js';
