import { createSimAgent, type SeedTask, type SimAgent, SimPhase } from '../../actors/simulator/index.js';
import {
  AgentInfo,
  type FrameworkInfo,
  MEZZO_VERSION,
  resources as R,
  TaskInfo,
} from '../../protocol/index.js';

/** registeredSimAgent is simulated agent a1 (cpus:4, mem:4096), already registered: for its pure decisions. */
export function registeredSimAgent(): SimAgent {
  const a = createSimAgent(
    AgentInfo.parse({
      id: 'a1',
      hostname: 'a1.sim',
      resources: R.parseResources('cpus:4;mem:4096'),
      version: MEZZO_VERSION,
    }),
  );
  a.phase = SimPhase.REGISTERED;
  return a;
}

/**
 * runningSeed is a simulator `seed` where agent i runs one task per framework `frameworksOf(i)`
 * lists (cpus:0.1;mem:32, `sleep 1d`, ids t-i-k): what it reports when it registers.
 */
export function runningSeed(frameworksOf: (i: number) => FrameworkInfo[]) {
  return (i: number, agentId: string): SeedTask[] =>
    frameworksOf(i).map((framework, k) => ({
      framework,
      task: TaskInfo.parse({
        taskId: `t-${i}-${k}`,
        name: 't',
        agentId,
        resources: R.parseResources('cpus:0.1;mem:32'),
        command: { value: 'sleep 1d' },
      }),
      state: 'TASK_RUNNING' as const,
    }));
}
