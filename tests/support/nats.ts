import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectNats,
  type LocalNatsServer,
  NatsBus,
  silentLogger,
  startNatsServer,
} from '../../bus/index.js';

/** A nats-server of a test's own, in a temporary directory. */
export interface TestNats {
  server: LocalNatsServer;
  url: string;
  dir: string;
  /** A fresh subject prefix, so that tests never see each other's messages. */
  prefix: string;
  bus(name?: string): Promise<NatsBus>;
  stop(): Promise<void>;
}

let counter = 0;

/** startTestNats starts nats-server on a free loopback port. */
export async function startTestNats(): Promise<TestNats> {
  const dir = mkdtempSync(join(tmpdir(), 'mezzo-test-'));
  const server = await startNatsServer({ dataDir: dir });
  const buses: NatsBus[] = [];
  return {
    server,
    url: server.url,
    dir,
    prefix: `t${process.pid}_${++counter}.v1`,
    async bus(name = 'test') {
      const nc = await connectNats({ servers: server.url, name, log: silentLogger });
      const b = new NatsBus(nc, silentLogger);
      buses.push(b);
      return b;
    },
    async stop() {
      await Promise.all(buses.map((b) => b.close().catch(() => {})));
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
