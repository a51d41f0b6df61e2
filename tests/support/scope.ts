import { afterEach } from 'vitest';
import { type MasterHandle, startMaster } from '../../actors/master/index.js';
import { silentLogger } from '../../bus/index.js';
import { subjects as makeSubjects } from '../../protocol/index.js';
import { startTestNats, type TestNats } from './nats.js';

/** ScopedMasterOptions are a master's options less what the scope supplies (bus, subjects, log). */
export type ScopedMasterOptions = Omit<Parameters<typeof startMaster>[0], 'bus' | 'subjects' | 'log'>;

/** TestScope is what a test starts, to be stopped after it whether it passed or not. */
export interface TestScope {
  /** defer runs `cleanup` after the test; cleanups run last first, and one failing stops no other. */
  defer(cleanup: () => Promise<unknown>): void;
  /** startNats starts a nats-server that is stopped after the test's cleanups. */
  startNats(): Promise<TestNats>;
  /** startMaster starts a master on its own connection to `nats`, stopped after the test. */
  startMaster(nats: TestNats, opts?: ScopedMasterOptions): Promise<MasterHandle>;
}

/** testScope registers an afterEach that stops what each test of the file started. */
export function testScope(): TestScope {
  const cleanups: (() => Promise<unknown>)[] = [];
  const servers: TestNats[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    for (const n of servers.splice(0)) await n.stop();
  });
  return {
    defer: (cleanup) => {
      cleanups.push(cleanup);
    },
    startNats: async () => {
      const n = await startTestNats();
      servers.push(n);
      return n;
    },
    startMaster: async (nats, opts = {}) => {
      const master = await startMaster({
        ...opts,
        bus: await nats.bus('master'),
        subjects: makeSubjects(nats.prefix),
        log: silentLogger,
      });
      cleanups.push(() => master.stop());
      return master;
    },
  };
}
