import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentConfig, type AgentHandle, startAgent } from '../../actors/agent/index.js';
import { type MasterConfig, type MasterHandle, startMaster } from '../../actors/master/index.js';
import { silentLogger } from '../../bus/index.js';
import { subjects as makeSubjects, type Subjects } from '../../protocol/index.js';
import { startTestNats, type TestNats } from './nats.js';

/** A real nats-server, master and agent of a test's own. */
export interface TestCluster {
  nats: TestNats;
  subjects: Subjects;
  master: MasterHandle;
  agent: AgentHandle;
  workDir: string;
  stop(): Promise<void>;
}

/** startTestCluster boots nats-server, a master and one registered agent in this process. */
export async function startTestCluster(
  opts: { master?: Partial<MasterConfig>; agent?: Partial<AgentConfig> } = {},
): Promise<TestCluster> {
  const nats = await startTestNats();
  const subjects = makeSubjects(nats.prefix);
  const master = await startMaster({
    bus: await nats.bus('master'),
    subjects,
    log: silentLogger,
    config: { allocationIntervalMs: 100, ...opts.master },
  });
  const workDir = mkdtempSync(join(tmpdir(), 'mezzo-cluster-'));
  const agent = await startAgent({
    bus: await nats.bus('agent'),
    subjects,
    log: silentLogger,
    config: {
      workDir,
      resources: 'cpus:2;mem:512;disk:512;ports:[31000-31009]',
      natsUrl: nats.url,
      ...opts.agent,
    },
  });
  await agent.registered();
  return {
    nats,
    subjects,
    master,
    agent,
    workDir,
    async stop() {
      await agent.stop();
      await master.stop();
      await nats.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
