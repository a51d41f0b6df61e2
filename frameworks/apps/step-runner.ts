import { type Actor, createActor, fromPromise, waitFor } from 'xstate';
import { BusError, type Logger } from '../../bus/index.js';
import { type AppStep, appMachine, type QueuedStep } from './app-machine.js';

/** StepStoppedError is the outcome of a step still queued when the framework stopped. */
export class StepStoppedError extends BusError {
  override name = 'StepStoppedError';
  constructor(message: string) {
    super(message, 'UNAVAILABLE');
  }
}

/**
 * StepRunner binds the app machine's effects: `runStep` calls the framework's handler and settles
 * the promise its submitter holds (a status update is acknowledged only when it resolves; a
 * request is answered with its value); `dropSteps` rejects what will never run.
 */
export class StepRunner {
  private readonly actor: Actor<typeof appMachine>;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void }
  >();
  private nextId = 1;

  /**
   * `acting` says whether this copy may act now (under a lease: whether it still leads); a step
   * that finds it false is not run and fails with StepStoppedError.
   */
  constructor(run: (step: AppStep) => Promise<unknown>, log: Logger, acting: () => boolean = () => true) {
    const settle = (id: number, outcome: { value?: unknown; error?: unknown }, failed: boolean) => {
      const p = this.pending.get(id);
      this.pending.delete(id);
      if (failed) p?.reject(outcome.error);
      else p?.resolve(outcome.value);
    };
    const machine = appMachine.provide({
      actors: {
        runStep: fromPromise<void, QueuedStep>(async ({ input }) => {
          try {
            if (!acting()) throw new StepStoppedError('this copy of the framework is not the active one');
            settle(input.id, { value: await run(input.step) }, false);
          } catch (error) {
            settle(input.id, { error }, true);
          }
        }),
      },
      actions: {
        dropSteps: (_, params: { ids: number[] }) => {
          for (const id of params.ids)
            settle(id, { error: new StepStoppedError('the framework stopped') }, true);
        },
      },
    });
    this.actor = createActor(machine, {
      inspect: (e) => {
        if (e.type === '@xstate.snapshot' && e.actorRef === this.actor)
          log.trace({ state: (e.snapshot as { value?: unknown }).value }, 'app machine');
      },
    });
    this.actor.start();
  }

  /** ready lets queued steps run (the framework has loaded its state). */
  ready(): void {
    this.actor.send({ type: 'READY' });
  }

  /** submit queues a step; the promise settles with its handler's outcome. */
  submit(step: AppStep): Promise<unknown> {
    if (this.actor.getSnapshot().status === 'done')
      return Promise.reject(new StepStoppedError('the framework stopped'));
    const id = this.nextId++;
    const outcome = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.actor.send({ type: 'ENQUEUE', item: { id, step } });
    return outcome;
  }

  /** stop waits for the step in hand, drops the rest and ends the machine. */
  async stop(): Promise<void> {
    this.actor.send({ type: 'STOP' });
    await waitFor(this.actor, (s) => s.status === 'done');
  }
}
