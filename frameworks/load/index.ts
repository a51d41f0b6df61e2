/** The load framework: K framework instances on the SDK launching short tasks as fast as offers allow. */
export { Latencies } from './latency.js';
export {
  type LoadOptions,
  type LoadRun,
  type LoadStats,
  startLoad,
  type TaskHops,
} from './load-framework.js';
export { tasksThatFit } from './packing.js';
