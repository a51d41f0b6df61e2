import { createActor } from 'xstate';
import { BusError } from '../../bus/index.js';
import {
  AgentToMaster,
  lastToken,
  MasterToAgent,
  OperatorCall,
  SchedulerCall,
  SchedulerEvent,
} from '../../protocol/index.js';
import { systemClock } from '../common/index.js';
import { createCallGuard } from './authorization.js';
import { defaultMasterConfig } from './config.js';
import { gatherContainers } from './container-relay.js';
import type { ContainerTargets } from './containers.js';
import { type Effect, MasterError } from './effects.js';
import { type MasterEvent, masterMachine, type Replier } from './machine.js';
import { createCallLimiter } from './rate-limit.js';
import { createMasterState } from './state.js';
import type { MasterHandle, MasterOptions } from './types.js';
import { stateView } from './views.js';

/**
 * startMaster runs a leading master on the bus: it serves scheduler, agent and operator subjects,
 * ticks its timers and coalesces allocation requests into one run at a time.
 */
export async function startMaster(opts: MasterOptions): Promise<MasterHandle> {
  const clock = opts.clock ?? systemClock;
  const config = defaultMasterConfig(opts.config);
  const log = opts.log.child({ masterId: config.masterId });
  const state = createMasterState(config, clock.now(), {
    seed: (Math.random() * 2 ** 32) >>> 0,
    timer: () => performance.now(),
  });
  const { bus, subjects } = opts;

  let allocationPending = false;
  let stopped = false;
  const scheduleAllocation = () => {
    if (allocationPending || stopped) return;
    allocationPending = true;
    setImmediate(() => {
      allocationPending = false;
      if (!stopped) actor.send({ type: 'ALLOCATE', now: clock.now() });
    });
  };

  const deliver = (effects: Effect[]) => {
    for (const e of effects) {
      try {
        if (e.kind === 'allocate') scheduleAllocation();
        else if (e.kind === 'framework')
          bus.publish(subjects.frameworkEvents(e.frameworkId), SchedulerEvent, e.event);
        else bus.publish(subjects.agent(e.agentId), MasterToAgent, e.message);
      } catch (err) {
        log.error({ err, effect: e.kind }, 'could not deliver an effect');
      }
    }
  };

  const actor = createActor(
    masterMachine.provide({ actions: { deliver: (_, params) => deliver(params.effects) } }),
    {
      input: { state },
      inspect: (ev) => {
        if (ev.type === '@xstate.snapshot' && ev.actorRef === actor) {
          const value = (ev.snapshot as { value?: unknown }).value;
          if (value !== lastValue) {
            log.info({ state: value }, 'master state');
            lastValue = value;
          }
        }
      },
    },
  );
  let lastValue: unknown;
  actor.start();

  const ask = (build: (reply: Replier) => MasterEvent) =>
    new Promise<unknown>((resolve, reject) => {
      if (stopped) return reject(new BusError('master is stopping', 'UNAVAILABLE'));
      actor.send(
        build({
          resolve,
          reject: (err) =>
            reject(err instanceof MasterError ? new BusError(err.message, err.code, { cause: err }) : err),
        }),
      );
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
    bus.serve(subjects.masterAgentAll(), AgentToMaster, (msg, ctx) =>
      ask((reply) => ({
        type: 'AGENT_MESSAGE',
        now: clock.now(),
        agentId: lastToken(ctx.subject),
        msg,
        reply,
      })),
    ),
    // The legacy subject serves unsecured clusters; principals call on their own read/write subjects.
    ...[subjects.operator(), subjects.operatorReadAll(), subjects.operatorWriteAll()].map((subject) =>
      bus.serve(subject, OperatorCall, async (call, ctx) => {
        const caller = guard.operator(ctx.subject, call);
        const result = await ask((reply) => ({ type: 'OPERATOR_CALL', now: clock.now(), call, reply }));
        if (call.type !== 'GET_CONTAINERS') return guard.view(caller, result);
        return gatherContainers(bus, subjects, result as ContainerTargets, call.frameworkId, log);
      }),
    ),
  ];
  await bus.flush();

  const timer = setInterval(() => {
    actor.send({ type: 'TICK', now: clock.now() });
    scheduleAllocation();
  }, config.allocationIntervalMs);
  timer.unref();
  log.info({ prefix: subjects.prefix }, 'master leading');

  return {
    masterId: config.masterId,
    state: () => stateView(state),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      for (const u of unsubscribe) u();
      actor.send({ type: 'STOP' });
      actor.stop();
      log.info('master stopped');
    },
  };
}
