import { afterEach } from 'vitest';
import { startTestNats, type TestNats } from './nats.js';

/** TestScope is what a test starts, to be stopped after it whether it passed or not. */
export interface TestScope {
  /** defer runs `cleanup` after the test; cleanups run last first, and one failing stops no other. */
  defer(cleanup: () => Promise<unknown>): void;
  /** startNats starts a nats-server that is stopped after the test's cleanups. */
  startNats(): Promise<TestNats>;
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
  };
}
