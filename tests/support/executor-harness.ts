import { createActor, SimulatedClock } from 'xstate';
import { type ExecutorEvent, executorMachine } from '../../actors/executor/index.js';

export type Call = { effect: string; [k: string]: unknown };

/** startExecutor runs the executor machine on a simulated clock with its effects recorded in `calls`. */
export function startExecutor(gracePeriodSeconds = 2) {
  const clock = new SimulatedClock();
  const calls: Call[] = [];
  const machine = executorMachine.provide({
    actions: {
      publishUpdate: (_, p) =>
        void calls.push({
          effect: 'publishUpdate',
          state: p.status.state,
          uuid: p.status.uuid,
          status: p.status,
        }),
      publishRegister: (_, p) => void calls.push({ effect: 'publishRegister', ...p }),
      spawnTask: () => void calls.push({ effect: 'spawnTask' }),
      signalTask: (_, p) => void calls.push({ effect: 'signalTask', ...p }),
      warn: (_, p) => void calls.push({ effect: 'warn', ...p }),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: {
      agentId: 'a1',
      executorId: 't1',
      frameworkId: 'f1',
      taskId: 't1',
      defaultGracePeriodSeconds: gracePeriodSeconds,
      now: 0,
      uuid: 'u-start',
    },
  }).start();
  let n = 0;
  const stamp = () => ({ now: clock.now(), uuid: `u${++n}` });
  return {
    actor,
    clock,
    calls,
    send: (e: ExecutorEvent) => actor.send(e),
    stamp,
    published: () => calls.filter((c) => c.effect === 'publishUpdate').map((c) => `${c.state}:${c.uuid}`),
    advance(ms: number, step = 100) {
      for (let t = 0; t < ms; t += step) clock.increment(step);
    },
    status: () => actor.getSnapshot().status,
    warnings: () => calls.filter((c) => c.effect === 'warn').map((c) => c.message),
    ack(uuid: string) {
      actor.send({ type: 'ACK', uuid });
    },
  };
}
