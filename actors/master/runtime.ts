import { createActor } from 'xstate';
import type { ZodType } from 'zod';
import { BusError, type WorkerIntake } from '../../bus/index.js';
import {
  AgentToMaster,
  LeaderAnnouncement,
  lastToken,
  MasterToBatchingAgent,
  OperatorCall,
  SchedulerCall,
  SchedulerEvent,
  StampedMasterToBatchingAgent,
  StampedSchedulerEvent,
} from '../../protocol/index.js';
import { systemClock } from '../common/index.js';
import type { FollowedAgents } from './agent-follower.js';
import { type AgentIntakeConfig, agentIntakeConfig, startAgentIntake } from './agent-intake.js';
import { createCallGuard } from './authorization.js';
import { defaultMasterConfig } from './config.js';
import { gatherContainers } from './container-relay.js';
import type { ContainerTargets } from './containers.js';
import { type Effect, MasterError } from './effects.js';
import { isHot } from './hot-messages.js';
import {
  allocationRunDue,
  type LeadershipConfig,
  mayAllocate,
  type Recovery,
  recoveryOver,
  registryScope,
} from './leadership.js';
import { type MasterEvent, masterMachine, type Replier } from './machine.js';
import { createCallLimiter } from './rate-limit.js';
import type { Registry, RegistryOp } from './registry.js';
import { applyAll, heldByPendingWrite, type RegistryScope, registryDiff } from './registry-diff.js';
import { restoreFromRegistry } from './registry-restore.js';
import { createMasterState } from './state.js';
import { releaseTable } from './task-table.js';
import { maxPayloadOf } from './task-table-page-cap.js';
import { viewableAnswer } from './task-table-view.js';
import type { MasterHandle, MasterOptions } from './types.js';
import { stateView } from './views.js';

/**
 * LeaderContext is what an elected master (HA) gets from its election: its term, the registry
 * as loaded, where to persist changes, and a synchronous check that it still holds the lease.
 */
export interface LeaderContext {
  epoch: number;
  electedAt: number;
  registry: Registry;
  store: { append(ops: readonly RegistryOp[], after: Registry): Promise<void> };
  /** False the moment the lease may have expired: nothing is sent after that. */
  isValid(): boolean;
  /** Called once when this master stops acting on its own: lease lost or a registry write failed. */
  stepDown(reason: string): void;
  config: LeadershipConfig;
  /** What this master's follower copied of the agents' tasks while it stood by (agent-follower.ts). */
  followed?: FollowedAgents;
}

/**
 * startMaster runs a leading master on the bus: it serves scheduler, agent and operator subjects,
 * ticks its timers and coalesces allocation requests into one run at a time. With `leader` (HA,
 * see leadership-runtime.ts) it first restores the registry, stamps its epoch on everything it
 * sends, sends nothing once its lease may have expired, persists registry changes before it
 * acknowledges them, and holds allocation back until most known agents have re-registered.
 */
export async function startMaster(
  opts: MasterOptions & {
    leader?: LeaderContext;
    agentIntake?: Partial<AgentIntakeConfig>;
    /**
     * An intake the caller owns (an HA master starts its workers while it stands by, see
     * leadership-runtime.ts): used instead of starting one, and left running when this master stops.
     */
    intake?: WorkerIntake;
  },
): Promise<MasterHandle> {
  const clock = opts.clock ?? systemClock;
  const config = defaultMasterConfig(opts.config);
  const log = opts.log.child({ masterId: config.masterId });
  const state = createMasterState(config, clock.now(), {
    seed: (Math.random() * 2 ** 32) >>> 0,
    timer: () => performance.now(),
  });
  const { bus, subjects } = opts;
  state.maxMessageBytes = maxPayloadOf(bus);
  const leader = opts.leader;
  const epoch = leader?.epoch ?? 0;
  const startedAt = clock.now();
  state.leader = { epoch, electedAt: leader?.electedAt ?? startedAt, ha: !!leader };
  let registry = leader?.registry;
  let recovery: Recovery | undefined;
  // Large agent messages (REGISTERs) are decoded and validated in a worker thread: agent-intake.ts.
  // A new leader without an intake of its own starts it now, before the known agents are asked back.
  const ownsIntake = !opts.intake;
  const intake = opts.intake ?? startAgentIntake(agentIntakeConfig(opts.agentIntake, process.env), log);
  let intakeClosed: Promise<void> | undefined;
  if (leader) {
    intake?.prestart();
    const report = restoreFromRegistry(
      state,
      leader.registry,
      startedAt,
      startedAt + leader.config.reregisterTimeoutMs,
    );
    for (const r of report.refused) log.warn({ refused: r }, 'registry entry not restored');
    recovery = { known: report.recovering, pending: report.recovering, startedAt };
    if (leader.followed?.size) state.followed = leader.followed;
    log.info(
      { epoch, ...report, refused: report.refused.length, followed: leader.followed?.size ?? 0 },
      'restored the registry',
    );
  }

  let allocationPending = false;
  let stopped = false;
  /** acting says whether this master may still act; a leader whose lease may have expired may not. */
  const acting = () => {
    if (stopped) return false;
    if (leader && !leader.isValid()) {
      lose('the lease may have expired');
      return false;
    }
    return true;
  };
  const allocationAllowed = () => {
    if (!recovery || !leader) return true;
    recovery.pending = state.recovering?.size ?? 0;
    return mayAllocate(recovery, clock.now(), leader.config);
  };
  let lastAllocationAt = Number.NEGATIVE_INFINITY;
  const scheduleAllocation = () => {
    if (allocationPending || stopped || !allocationAllowed()) return;
    if (!allocationRunDue(recovery !== undefined, clock.now(), lastAllocationAt, config.allocationIntervalMs))
      return;
    allocationPending = true;
    setImmediate(() => {
      allocationPending = false;
      lastAllocationAt = clock.now();
      if (acting()) actor.send({ type: 'ALLOCATE', now: clock.now() });
    });
  };

  /** While an event's registry changes are being persisted, its effects wait here. */
  let capturing: Effect[] | undefined;
  const deliver = (effects: Effect[]) => {
    if (capturing) {
      capturing.push(...effects);
      return;
    }
    if (effects.length === 0 || !acting()) return;
    for (const e of effects) {
      try {
        // Per-task messages the master built from validated input skip a second validation.
        const hot = isHot(e);
        const send = (subject: string, schema: ZodType, msg: unknown) =>
          hot && bus.publishUnchecked
            ? bus.publishUnchecked(subject, msg)
            : bus.publish(subject, schema, msg);
        if (e.kind === 'allocate') scheduleAllocation();
        else if (!leader) {
          if (e.kind === 'framework') send(subjects.frameworkEvents(e.frameworkId), SchedulerEvent, e.event);
          else send(subjects.agent(e.agentId), MasterToBatchingAgent, e.message);
        } else if (e.kind === 'framework')
          send(subjects.frameworkEvents(e.frameworkId), StampedSchedulerEvent, { ...e.event, epoch });
        else send(subjects.agent(e.agentId), StampedMasterToBatchingAgent, { ...e.message, epoch });
      } catch (err) {
        log.error({ err, effect: e.kind }, 'could not deliver an effect');
      }
    }
  };

  /** persist writes what the event changed in the registry; the leader steps down if it cannot. */
  // `registry` has every write sent applied, `durable` only those the store has acknowledged. A
  // change that needs no write of its own because one still being written holds it (the same call
  // again, retried) is acknowledged only once that write is durable, and fails with it:
  // acknowledged at once, it was lost when the write failed (a NATS node died under it).
  let durable = registry;
  let lastWrite: Promise<void> = Promise.resolve();
  const persist = (scope: RegistryScope): Promise<void> => {
    if (!leader || !registry) return Promise.resolve();
    const now = clock.now();
    const ops = registryDiff(registry, state, scope, now);
    if (ops.length === 0) {
      const pending = !!durable && heldByPendingWrite(durable, registry, state, scope, now);
      return pending ? lastWrite : Promise.resolve();
    }
    const after = applyAll(registry, ops, (type) => log.warn({ type }, 'registry op of an unknown type'));
    registry = after;
    lastWrite = leader.store.append(ops, after).then(
      () => {
        durable = after;
      },
      (err) => {
        log.error({ err }, 'registry write failed: stepping down');
        lose(`registry write failed: ${(err as Error).message}`);
        throw err;
      },
    );
    return lastWrite;
  };

  /**
   * dispatch sends one event to the machine. An event that may change the registry has its reply
   * and effects held until the change is persisted.
   */
  const dispatch = (event: MasterEvent, reply?: Replier) => {
    const scope = leader ? registryScope(event, (id) => state.frameworks.has(id)) : undefined;
    if (!scope) {
      actor.send(event);
      return;
    }
    let answer: { ok: true; result: unknown } | { ok: false; error: unknown } | undefined;
    const held: Effect[] = [];
    capturing = held;
    try {
      actor.send(
        'reply' in event
          ? {
              ...event,
              reply: {
                resolve: (result: unknown) => {
                  answer = { ok: true, result };
                },
                reject: (error: unknown) => {
                  answer = { ok: false, error };
                },
              },
            }
          : event,
      );
    } finally {
      capturing = undefined;
    }
    if (answer?.ok && event.type === 'AGENT_MESSAGE' && event.msg.type === 'REGISTER')
      agentBack(event.agentId);
    if (answer && !answer.ok) {
      reply?.reject(answer.error);
      return;
    }
    persist(scope).then(
      () => {
        deliver(held);
        if (answer?.ok) reply?.resolve(answer.result);
      },
      (err) => reply?.reject(new BusError(`not acknowledged: ${(err as Error).message}`, 'UNAVAILABLE')),
    );
  };

  /** agentBack notes an agent known from the registry re-registering after the failover. */
  const agentBack = (agentId: string) => {
    if (!recovery || !state.recovering?.delete(agentId)) return;
    recovery.pending = state.recovering.size;
    if (recovery.pending === 0) {
      log.info(
        { agents: recovery.known, reregisteredMs: clock.now() - recovery.startedAt, intake: intake?.stats() },
        'every known agent re-registered',
      );
      recovery = undefined;
      state.followed = undefined;
    }
    scheduleAllocation();
  };

  /** endRecovery marks the agents that never came back unreachable (and persists it). */
  const endRecovery = () => {
    if (!recovery || !leader || !recoveryOver(recovery, clock.now(), leader.config)) return;
    const missing = [...(state.recovering ?? [])];
    state.recovering?.clear();
    state.followed = undefined;
    recovery = undefined;
    log.warn({ agents: missing.length }, 'agents did not re-register in time: unreachable');
    persist({ agents: missing }).catch(() => {});
  };

  const actor = createActor(
    masterMachine.provide({ actions: { deliver: (_, params) => deliver(params.effects) } }),
    {
      input: { state },
    },
  );
  let lastValue: unknown;
  // A subscription, not an `inspect` callback: with an inspector XState builds and sends an
  // inspection event for every event, microstep and action (2.5% of the new leader's CPU while
  // 10,000 agents re-register after a failover).
  actor.subscribe((snapshot) => {
    if (snapshot.value !== lastValue) {
      log.info({ state: snapshot.value }, 'master state');
      lastValue = snapshot.value;
    }
  });
  actor.start();

  const ask = (build: (reply: Replier) => MasterEvent) =>
    new Promise<unknown>((resolve, reject) => {
      if (!acting()) return reject(new BusError('master is stopping', 'UNAVAILABLE'));
      const reply: Replier = {
        resolve,
        reject: (err) =>
          reject(err instanceof MasterError ? new BusError(err.message, err.code, { cause: err }) : err),
      };
      dispatch(build(reply), reply);
    });

  const guard = createCallGuard(
    opts.security,
    opts.rateLimit ? createCallLimiter(opts.rateLimit, () => clock.now()) : undefined,
    subjects.operator(),
  );
  const unsubscribe = [
    bus.serve(subjects.schedulerAll(), SchedulerCall, async (call, ctx) => {
      const frameworkId = lastToken(ctx.subject);
      const checked = guard.scheduler(frameworkId, call, clock.now());
      const result = await ask((reply) => ({
        type: 'SCHEDULER_CALL',
        now: clock.now(),
        frameworkId,
        call: checked.call,
        reply,
      }));
      deliver(
        checked.refused.map((status) => ({
          kind: 'framework',
          frameworkId,
          event: { type: 'UPDATE', status },
        })),
      );
      return result;
    }),
    bus.serve(
      subjects.masterAgentAll(),
      AgentToMaster,
      (msg, ctx) =>
        ask((reply) => ({
          type: 'AGENT_MESSAGE',
          now: clock.now(),
          agentId: lastToken(ctx.subject),
          msg,
          reply,
        })),
      intake ? { intake } : {},
    ),
    // The legacy subject serves unsecured clusters; principals call on their own read/write subjects.
    ...[subjects.operator(), subjects.operatorReadAll(), subjects.operatorWriteAll()].map((subject) =>
      bus.serve(subject, OperatorCall, async (call, ctx) => {
        const caller = guard.operator(ctx.subject, call);
        const result = await ask((reply) => ({ type: 'OPERATOR_CALL', now: clock.now(), call, reply }));
        if (call.type !== 'GET_CONTAINERS') {
          const viewed = viewableAnswer(guard, caller, result);
          // A task table's columns are lent working buffers: reused once the answer is encoded.
          ctx.afterReply?.(() => {
            releaseTable((result as { taskTable?: unknown } | undefined)?.taskTable);
            releaseTable((viewed as { taskTable?: unknown } | undefined)?.taskTable);
          });
          return viewed;
        }
        return guard.view(
          caller,
          await gatherContainers(bus, subjects, result as ContainerTargets, call.frameworkId, log),
        );
      }),
    ),
  ];
  await bus.flush().catch(async (err) => {
    // Not started after all: its own intake worker must not outlive it.
    if (ownsIntake) await intake?.close();
    throw err;
  });

  const timer = setInterval(() => {
    if (!acting()) return;
    endRecovery();
    dispatch({ type: 'TICK', now: clock.now() });
    scheduleAllocation();
  }, config.allocationIntervalMs);
  timer.unref();

  let announcer: NodeJS.Timeout | undefined;
  if (leader) {
    const announce = () => {
      if (!acting()) return;
      try {
        bus.publish(subjects.leader(), LeaderAnnouncement, {
          masterId: config.masterId,
          epoch,
          electedAt: leader.electedAt,
        });
      } catch (err) {
        log.warn({ err }, 'could not announce leadership');
      }
    };
    announce();
    announcer = setInterval(announce, leader.config.announceEveryMs);
    announcer.unref();
    // Agents known from the registry are asked back at once rather than at their next heartbeat:
    // one message, validated once and sent to each (validating it 10,000 times took 0.1 s).
    const comeBack = StampedMasterToBatchingAgent.parse({ type: 'REREGISTER', epoch });
    try {
      for (const agentId of state.recovering ?? []) {
        if (!acting()) break;
        const subject = subjects.agent(agentId);
        if (bus.publishUnchecked) bus.publishUnchecked(subject, comeBack);
        else bus.publish(subject, StampedMasterToBatchingAgent, comeBack);
      }
    } catch (err) {
      log.warn({ err }, 'could not ask the known agents back; they come back at their next heartbeat');
    }
  }
  log.info({ prefix: subjects.prefix, epoch }, 'master leading');

  function halt(): boolean {
    if (stopped) return false;
    stopped = true;
    clearInterval(timer);
    clearInterval(announcer);
    for (const u of unsubscribe) u();
    if (ownsIntake) intakeClosed = intake?.close();
    actor.send({ type: 'STOP' });
    actor.stop();
    return true;
  }
  function lose(reason: string): void {
    if (!halt()) return;
    log.warn({ epoch, reason }, 'master stopped acting: no longer the leader');
    leader?.stepDown(reason);
  }

  return {
    masterId: config.masterId,
    state: () => stateView(state),
    async stop() {
      if (halt()) log.info('master stopped');
      await intakeClosed;
    },
  };
}
