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
import { subjects as makeSubjects, type Subjects } from '../../protocol/index.js';
import { type MasterProcess, startMasterProcess } from './master-process.js';

/** BenchEnv is a nats-server and a master process of one benchmark run, with connections to them. */
export interface BenchEnv {
  natsUrl: string;
  natsPid: number;
  subjects: Subjects;
  master: MasterProcess;
  /** A new connection (one per role: simulator, frameworks, operator). */
  bus(name: string): Promise<NatsBus>;
  stop(): Promise<void>;
}

/** startBenchEnv starts nats-server on loopback and `mezzo master` in its own process. */
export async function startBenchEnv(
  opts: { nodeFlags?: string[]; masterLogLevel?: string; masterStdoutFile?: string } = {},
): Promise<BenchEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'mezzo-bench-nats-'));
  let server: LocalNatsServer | undefined;
  const buses: NatsBus[] = [];
  try {
    server = await startNatsServer({ dataDir: dir, maxPayloadBytes: 64 * 1024 * 1024 });
    const prefix = `bench${process.pid}.v1`;
    const master = await startMasterProcess({
      natsUrl: server.url,
      prefix,
      nodeFlags: opts.nodeFlags,
      logLevel: opts.masterLogLevel,
      stdoutFile: opts.masterStdoutFile,
    });
    const s = server;
    // Ctrl-C on a benchmark must not leave its master and nats-server behind.
    const onSignal = (signal: NodeJS.Signals) => {
      master.child.kill('SIGKILL');
      s.process.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    return {
      natsUrl: s.url,
      natsPid: s.pid,
      subjects: makeSubjects(prefix),
      master,
      async bus(name) {
        const nc = await connectNats({ servers: s.url, name, log: silentLogger, noAsyncTraces: true });
        const b = new NatsBus(nc, silentLogger, 64 * 1024 * 1024);
        buses.push(b);
        return b;
      },
      async stop() {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await Promise.all(buses.map((b) => b.close().catch(() => {})));
        await master.stop();
        await s.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
