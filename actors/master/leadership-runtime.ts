import type { NatsConnection } from '@nats-io/transport-node';
import {
  type IntakeStats,
  kvLeaseStore,
  Lease,
  type LeaseTerm,
  natsLeaseLiveness,
  openLeaseBucket,
} from '../../bus/index.js';
import {
  AgentToMaster,
  lastToken,
  StampedMasterToBatchingAgent,
  type StateView,
} from '../../protocol/index.js';
import { systemClock } from '../common/index.js';
import { type FollowedAgents, followAgentMessage, followLaunch } from './agent-follower.js';
import { type AgentIntakeConfig, agentIntakeConfig, startAgentIntake } from './agent-intake.js';
import { defaultMasterConfig } from './config.js';
import { defaultLeadershipConfig, type LeadershipConfig } from './leadership.js';
import type { Registry } from './registry.js';
import { RegistryStore } from './registry-store.js';
import { startMaster } from './runtime.js';
import type { MasterHandle, MasterOptions } from './types.js';

/** leaseBucketName is the KV bucket holding one cluster's leader lease. */
export function leaseBucketName(prefix: string): string {
  return `mezzo_leader_${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** The key of the masters' lease in that bucket. */
export const MASTER_LEASE_KEY = 'master';

/** How long a master waits for JetStream to accept its lease bucket at start-up. */
const JETSTREAM_READY_MS = 60_000;

/** retrying calls `fn` until it resolves, backing off up to 2 s, and rethrows after `forMs`. */
async function retrying<T>(fn: () => Promise<T>, forMs: number, onError: (err: unknown) => void): Promise<T> {
  const deadline = Date.now() + forMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      onError(err);
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
    }
  }
}

/** HaMasterOptions are a master's options plus the NATS connection its lease and registry use. */
export interface HaMasterOptions extends MasterOptions {
  nc: NatsConnection;
  leadership?: Partial<LeadershipConfig>;
  /** Where agent messages are parsed (agent-intake.ts); its workers start while the master stands by. */
  agentIntake?: Partial<AgentIntakeConfig>;
}

/** HaMasterHandle is a master that contends for leadership and leads when elected. */
export interface HaMasterHandle {
  readonly masterId: string;
  /** The epoch it leads in now, if it leads. */
  leading(): number | undefined;
  /** Resolves the next time it starts leading (at once if it leads). */
  elected(): Promise<number>;
  /** GET_STATE as this master sees it; undefined while it stands by. */
  state(): StateView | undefined;
  /** Its agent intake's counts (workers up, messages parsed off the thread), or undefined with no workers. */
  intakeStats(): IntakeStats | undefined;
  /** Standing by: how many agents it holds a copy of the running tasks of (agent-follower.ts). */
  following(): number;
  /** Stops; `release: false` leaves the lease to expire, as a process that died would. */
  stop(opts?: { release?: boolean }): Promise<void>;
}

/**
 * startHaMaster runs a master that stands by until it wins the lease, then loads the registry and
 * serves as the leader (startMaster with a LeaderContext). It stops acting the moment the lease
 * may have expired or a registry write fails, and goes back to standing by; a term won while
 * stopping is given back. Only a leader subscribes to master subjects, so clients need no
 * discovery: during an election their requests go unanswered and are retried.
 */
export async function startHaMaster(opts: HaMasterOptions): Promise<HaMasterHandle> {
  const clock = opts.clock ?? systemClock;
  const cfg = defaultLeadershipConfig(opts.leadership);
  const config = defaultMasterConfig(opts.config);
  const log = opts.log.child({ masterId: config.masterId });
  // A JetStream cluster that has just started elects its meta leader first: retry for a while.
  const kv = await retrying(
    () =>
      openLeaseBucket(opts.nc, leaseBucketName(opts.subjects.prefix), {
        ttlMs: cfg.lease.ttlMs,
        replicas: cfg.replicas,
      }),
    JETSTREAM_READY_MS,
    (err) =>
      log.warn({ reason: (err as Error).message }, 'JetStream not ready for the lease bucket; retrying'),
  );
  // The agent intake's workers start now, while standing by, and serve every term until stop: at
  // a takeover, booting one (compiling the protocol's schemas in a fresh isolate, about 0.3 s of
  // CPU) competed with the first burst of REGISTERs, which the master parsed itself meanwhile.
  // Each worker also warms up on a sample REGISTER first, so that the burst does not run cold.
  const intake = startAgentIntake(agentIntakeConfig(opts.agentIntake, process.env), log, { warm: true });
  intake?.prestart();
  let master: MasterHandle | undefined;
  let leadingEpoch: number | undefined;
  let termSeq = 0;
  let stopped = false;
  let waiters: ((epoch: number) => void)[] = [];

  // Warm standby: while it waits, a master keeps the registry loaded and follows it, so that at
  // its election only the ops written since its last refresh are left to read. One refresh at a
  // time; a term's own writes make the copy stale, so it is dropped when a term starts.
  let store: RegistryStore | undefined;
  let warm: Registry | undefined;
  let syncing: Promise<unknown> = Promise.resolve();
  const catchUp = (): Promise<{ store: RegistryStore; registry: Registry }> => {
    const run = syncing.then(async () => {
      store ??= await RegistryStore.open({
        nc: opts.nc,
        subjects: opts.subjects,
        replicas: cfg.replicas,
        log,
      });
      warm = warm ? await store.refresh(warm) : await store.load();
      return { store, registry: warm };
    });
    syncing = run.catch(() => {});
    return run;
  };
  // The standby follows the agents (agent-follower.ts): it overhears their REGISTERs and status
  // updates to the leader, and the tasks the leader launches on them, and keeps a copy of each
  // one's running tasks, handed to its own term
  // when it is elected, so that agents whose digest matches need not send their tasks again. A
  // term's master serves the agents itself, so following stops while it leads.
  let followed: FollowedAgents = new Map();
  let unfollow: (() => void) | undefined;
  const follow = () => {
    if (unfollow || stopped || !opts.bus.overhear) return;
    const mine: FollowedAgents = new Map();
    followed = mine;
    const fromAgents = opts.bus.overhear(
      opts.subjects.masterAgentAll(),
      AgentToMaster,
      (msg, ctx) => {
        if (followed === mine) followAgentMessage(mine, lastToken(ctx.subject), msg);
      },
      intake ? { intake } : {},
    );
    // The tasks the leader launches: `<prefix>.agent.<agentId>.control`.
    const toAgents = opts.bus.overhear(opts.subjects.agentAll(), StampedMasterToBatchingAgent, (msg, ctx) => {
      if (followed === mine) followLaunch(mine, opts.subjects.agentOf(ctx.subject), msg);
    });
    unfollow = () => {
      fromAgents();
      toAgents();
    };
  };
  /** stopFollowing ends following and hands over what was copied. */
  const stopFollowing = (): FollowedAgents => {
    unfollow?.();
    unfollow = undefined;
    const copies = followed;
    followed = new Map();
    return copies;
  };
  follow();

  let termStarting = false;
  const refresher = setInterval(() => {
    if (stopped || master || termStarting) return;
    catchUp().catch((err) =>
      log.debug({ reason: (err as Error).message }, 'standby could not refresh the registry'),
    );
  }, cfg.standbyRefreshMs);
  refresher.unref();

  const takeOver = async (term: LeaseTerm) => {
    const mine = ++termSeq;
    termStarting = true;
    try {
      const { store, registry } = await catchUp();
      warm = undefined;
      if (mine !== termSeq || stopped || lease.current()?.epoch !== term.epoch) return;
      const copies = stopFollowing();
      const m = await startMaster({
        ...opts,
        config,
        ...(intake ? { intake } : {}),
        leader: {
          epoch: term.epoch,
          electedAt: clock.now(),
          registry,
          store,
          isValid: () => lease.current()?.epoch === term.epoch,
          stepDown: (reason) => {
            if (master === m) {
              master = undefined;
              leadingEpoch = undefined;
            }
            void lease.resign(reason);
          },
          config: cfg,
          followed: copies,
        },
      });
      if (mine !== termSeq || stopped) {
        await m.stop();
        return;
      }
      master = m;
      leadingEpoch = term.epoch;
      for (const w of waiters) w(term.epoch);
      waiters = [];
    } catch (err) {
      log.error({ err }, 'could not take over as leader');
      if (mine === termSeq) void lease.resign(`could not take over: ${(err as Error).message}`);
    } finally {
      if (mine === termSeq) termStarting = false;
    }
  };

  const lease = new Lease({
    store: kvLeaseStore(kv, MASTER_LEASE_KEY),
    holder: config.masterId,
    timing: cfg.lease,
    clock,
    log,
    // A killed leader's standby takes over as soon as NATS says nobody answers for it, instead of
    // waiting out the lease (see bus/lease-liveness.ts); a slow or paused leader still has its lease.
    liveness: natsLeaseLiveness(opts.nc, opts.subjects.masterAlive, {
      timeoutMs: cfg.lease.renewEveryMs,
      log,
    }),
    onElected: (term) => void takeOver(term),
    onDeposed: (_term, reason) => {
      termSeq++;
      termStarting = false;
      warm = undefined;
      const m = master;
      master = undefined;
      leadingEpoch = undefined;
      if (m) log.warn({ reason }, 'stepping down');
      void m?.stop();
      follow();
    },
  });
  lease.start();
  void catchUp().catch((err) =>
    log.debug({ reason: (err as Error).message }, 'standby could not load the registry yet'),
  );
  log.info(
    { prefix: opts.subjects.prefix, ttlMs: cfg.lease.ttlMs, replicas: cfg.replicas },
    'master standing by',
  );

  return {
    masterId: config.masterId,
    leading: () => (master && lease.current()?.epoch === leadingEpoch ? leadingEpoch : undefined),
    elected: () =>
      leadingEpoch !== undefined ? Promise.resolve(leadingEpoch) : new Promise((r) => waiters.push(r)),
    state: () => master?.state(),
    intakeStats: () => intake?.stats(),
    following: () => followed.size,
    async stop(stopOpts = {}) {
      if (stopped) return;
      stopped = true;
      termSeq++;
      clearInterval(refresher);
      stopFollowing();
      const m = master;
      master = undefined;
      try {
        await m?.stop();
        await lease.stop(stopOpts.release ?? true);
      } finally {
        // Whatever happened above, its worker thread does not outlive it.
        await intake?.close();
      }
      log.info('master stopped');
    },
  };
}
