/** The jobs framework: runs tasks to completion with parallelism, retries and deadlines. */
export { type JobsFramework, startJobsFramework } from './jobs-framework.js';
export * from './progress.js';
