/** The master: framework and agent protocol, offers, tasks and operator calls. */
export { authorizeOperatorCall, authorizeSchedulerCall, type MasterSecurity } from './authorization.js';
export { defaultMasterConfig } from './config.js';
export { defaultLeadershipConfig, type LeadershipConfig } from './leadership.js';
export {
  type HaMasterHandle,
  type HaMasterOptions,
  leaseBucketName,
  startHaMaster,
} from './leadership-runtime.js';
export { startMaster } from './runtime.js';
export type { MasterConfig, MasterHandle, MasterOptions } from './types.js';
