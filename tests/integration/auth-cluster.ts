import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { type AgentHandle, loadIdentity, startAgent } from '../../actors/agent/index.js';
import { type MasterConfig, type MasterHandle, startMaster } from '../../actors/master/index.js';
import {
  connectNats,
  type LocalNatsServer,
  type Logger,
  NatsBus,
  reloadNatsServer,
  silentLogger,
  startNatsServer,
  withCredentials,
  writeNatsAuthorization,
} from '../../bus/index.js';
import { subjects as makeSubjects, type Subjects } from '../../protocol/index.js';
import {
  bootstrapCredentials,
  type CredsFile,
  DEFAULT_POLICY,
  fileDirectory,
  issueCredentials,
  type Policy,
  Principal,
  type PrincipalInput,
  type RateLimit,
  type Registry,
  readCreds,
  renderAuthorization,
  type SecurityPaths,
} from '../../security/index.js';
import { waitFor } from '../support/processes.js';

/** A secured cluster in this process, wired the way `mezzo up` wires one. */
export interface SecureCluster {
  server: LocalNatsServer;
  /** The agent's work dir: sandboxes live below it. */
  workDir: string;
  url: string;
  subjects: Subjects;
  master: MasterHandle;
  agent: AgentHandle;
  admin: CredsFile;
  /** The master's credentials: they may publish on every subject, which the fuzz suite needs. */
  masterCreds: CredsFile;
  agentCreds: CredsFile;
  /** Issues credentials for one more principal and waits until the server accepts them. */
  issue(principal: PrincipalInput): Promise<CredsFile>;
  /** A validated bus connected as `creds`. */
  bus(creds: CredsFile, name?: string): Promise<NatsBus>;
  stop(): Promise<void>;
}

/** startSecureCluster boots nats-server with every principal's permissions, a master that authorizes, and an agent. */
export async function startSecureCluster(
  opts: { policy?: Policy; rateLimit?: RateLimit; master?: Partial<MasterConfig>; log?: Logger } = {},
): Promise<SecureCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'mezzo-secure-'));
  const prefix = 'mezzo.v1';
  const workDir = join(dir, 'agents', '0');
  mkdirSync(workDir, { recursive: true });
  const { agentId } = loadIdentity(workDir);
  const creds = bootstrapCredentials(dir, prefix, [agentId]);
  const paths: SecurityPaths = creds.paths;
  let registry: Registry = creds.registry;
  const natsDir = join(dir, 'nats');
  const server = await startNatsServer({ dataDir: natsDir, authorization: creds.authorization });
  const buses: NatsBus[] = [];
  const bus = async (c: CredsFile, name = c.user) => {
    const nc = await connectNats({
      servers: server.url,
      name,
      log: silentLogger,
      user: c.user,
      pass: c.password,
    });
    const b = new NatsBus(nc, silentLogger);
    buses.push(b);
    return b;
  };
  const subjects = makeSubjects(prefix);
  const master = await startMaster({
    bus: await bus(creds.master),
    subjects,
    log: opts.log ?? silentLogger,
    config: { allocationIntervalMs: 100, ...opts.master },
    security: { directory: fileDirectory(paths.registry, 0), policy: opts.policy ?? DEFAULT_POLICY },
    ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
  });
  const agentCreds = creds.agents[0];
  const agent = await startAgent({
    bus: await bus(agentCreds),
    subjects,
    log: opts.log ?? silentLogger,
    config: {
      workDir,
      resources: 'cpus:2;mem:512;disk:512;ports:[31000-31009]',
      natsUrl: withCredentials(server.url, agentCreds.user, agentCreds.password),
    },
  });
  await agent.registered();
  return {
    server,
    workDir,
    url: server.url,
    subjects,
    master,
    agent,
    admin: creds.admin,
    masterCreds: creds.master,
    agentCreds,
    async issue(input) {
      const principal = Principal.parse(input);
      registry = issueCredentials(paths, registry, principal);
      writeNatsAuthorization(natsDir, renderAuthorization(registry.principals, prefix));
      reloadNatsServer(server.pid);
      const issued = readCreds(paths.creds(principal.name));
      await waitFor(
        async () => {
          try {
            await (await connectRaw(server.url, issued)).close();
            return true;
          } catch {
            return false;
          }
        },
        10_000,
        `the server to accept ${principal.name}`,
      );
      return issued;
    },
    bus,
    async stop() {
      await agent.stop();
      await master.stop();
      await Promise.all(buses.map((b) => b.close().catch(() => {})));
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** connectRaw opens a plain nats.js connection as `creds` (or anonymously), for tests of the server's checks. */
export function connectRaw(url: string, creds?: { user: string; password: string }): Promise<NatsConnection> {
  return connectNats({
    servers: url,
    name: 'probe',
    log: silentLogger,
    ...(creds ? { user: creds.user, pass: creds.password } : {}),
  });
}

/**
 * expectViolation runs `act` on a connection and resolves with the server's permission error for
 * `subject`, or rejects when the server allowed it (no error within the flush and a grace period).
 */
export async function permissionError(nc: NatsConnection, subject: string, act: () => void): Promise<string> {
  const status = nc.status();
  const seen = (async () => {
    for await (const s of status) {
      const text = String((s as { error?: unknown }).error ?? (s as { data?: unknown }).data ?? '');
      if (s.type === 'error' && text.includes(subject)) return text;
    }
    return '';
  })();
  act();
  await nc.flush().catch(() => {});
  const timeout = new Promise<string>((r) => setTimeout(() => r(''), 2000));
  const text = await Promise.race([seen, timeout]);
  (status as { stop?: () => void }).stop?.();
  return text;
}
