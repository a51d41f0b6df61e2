import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { createActor, fromPromise } from 'xstate';
import { EpochGate } from '../../bus/index.js';
import { detectGpus } from '../../isolation/index.js';
import {
  AgentInfo,
  AgentOperatorCall,
  AgentToExecutor,
  AgentToMaster,
  ExecutorToAgent,
  LeaderAnnouncement,
  MEZZO_VERSION,
  resources as R,
  Registered,
  StampedMasterToAgent,
} from '../../protocol/index.js';
import { systemClock } from '../common/index.js';
import { ExecutorEnv } from '../executor/index.js';
import { type AgentSettings, createAgentContext, taskKey } from './agent-state.js';
import { containerStatuses } from './container-status.js';
import { AgentContainers, gpuIndices } from './containers.js';
import {
  defaultExecutorMain,
  ExecutorLauncher,
  type LaunchEvent,
  parentPid,
  signalProcessGroup,
} from './executor-launcher.js';
import { ExecutorWatch } from './executor-watch.js';
import { loadIdentity } from './identity.js';
import { type AgentEvent, agentMachine } from './machine.js';
import { readMachineFacts } from './machine-facts.js';
import { probeProcess, processStartTime } from './process-liveness.js';
import {
  DEFAULT_REREGISTRATION_TIMEOUT_MS,
  ENDED_WHILE_DOWN,
  RecoverMode,
  recoveredContext,
} from './recovery.js';
import { recoverCheckpoint } from './recovery-run.js';
import type { RegistrationRequest } from './registration.js';
import { detectResources } from './resource-detection.js';
import type { AgentHandle, AgentOptions } from './types.js';

/** How long one REGISTER request waits for the master. */
const REGISTER_TIMEOUT_MS = 5000;
/** How long stop() waits, at the very end, for executor processes it SIGKILLed to be reaped. */
const LAST_REAP_MS = 1000;
/** How long an executor of a checkpointing framework waits for a restarting agent (Mesos `--recovery_timeout`, 15 min). */
export const DEFAULT_RECOVERY_TIMEOUT_MS = 15 * 60_000;
/** How often the exits of executors of an earlier run are polled for. */
const WATCH_INTERVAL_MS = 500;

/**
 * startAgent runs an agent on the bus: it takes its identity from its work dir, detects its
 * resources, subscribes to its control and executor subjects, and registers with the master.
 * This is the only file of the agent that touches the bus.
 */
export async function startAgent(opts: AgentOptions): Promise<AgentHandle> {
  const { bus, subjects, config } = opts;
  const clock = opts.clock ?? systemClock;
  mkdirSync(config.workDir, { recursive: true });
  const identity = loadIdentity(config.workDir);
  const agentId = identity.agentId;
  const log = opts.log.child({ agentId });

  const detectedGpus = detectGpus(config.gpuSearchPath);
  const resources = detectResources(readMachineFacts(config.workDir), config.resources, detectedGpus.length);
  const containers = new AgentContainers({
    agentId,
    log,
    isolation: config.isolation,
    enableCfs: config.cgroupsEnableCfs ?? false,
    pidsMax: config.cgroupsPidsMax ?? 4096,
    gpus: gpuIndices(detectedGpus, R.scalar(resources, 'gpus')),
    probe: config.probeHost,
    dockerSocket: config.dockerSocket,
    probeDocker: config.probeDocker,
  });
  await containers.detectDocker();
  log.info(
    {
      on: containers.choice.on,
      off: containers.choice.off,
      containerizers: containers.containerizers(),
      ...(containers.docker === true ? {} : { dockerOff: containers.docker }),
    },
    containers.describe(),
  );
  if (detectedGpus.length > 0)
    log.info({ gpus: detectedGpus }, `detected ${detectedGpus.length} NVIDIA GPUs`);
  // Before orphaned containers are cleaned up: live checkpointed executors keep theirs.
  const recovered = recoverCheckpoint({
    workDir: config.workDir,
    agentId,
    mode: config.recover ?? RecoverMode.RECONNECT,
    log,
    containers,
  });
  await containers.recover();

  const info = AgentInfo.parse({
    id: agentId,
    hostname: config.hostname ?? hostname(),
    resources,
    attributes: config.attributes ? R.parseAttributes(config.attributes) : {},
    bootId: identity.bootId,
    version: MEZZO_VERSION,
  });
  const settings: AgentSettings = {
    workDir: config.workDir,
    statusUpdateRetryMs: config.statusUpdateRetryMs ?? 2000,
    statusUpdateRetryCapMs: 60_000,
    defaultKillGracePeriodSeconds: config.defaultKillGracePeriodSeconds ?? 3,
    registrationBackoff: config.registrationBackoff ?? { baseMs: 1000, capMs: 60_000 },
    executorReregistrationTimeoutMs:
      config.executorReregistrationTimeoutMs ?? DEFAULT_REREGISTRATION_TIMEOUT_MS,
  };

  const send = (event: AgentEvent) => {
    if (actor.getSnapshot().status === 'active') actor.send(event);
  };
  const stamp = (e: LaunchEvent): AgentEvent =>
    e.type === 'EXECUTOR_SPAWNED' ? e : { ...e, now: clock.now(), uuid: randomUUID() };

  const launcher = new ExecutorLauncher({
    command: config.executorCommand ?? [process.execPath, defaultExecutorMain()],
    env: {
      [ExecutorEnv.NATS_URL]: Array.isArray(config.natsUrl) ? config.natsUrl.join(',') : config.natsUrl,
      [ExecutorEnv.PREFIX]: subjects.prefix,
      [ExecutorEnv.AGENT_ID]: agentId,
    },
    prefix: subjects.prefix,
    recoveryTimeoutMs: config.recoveryTimeoutMs ?? DEFAULT_RECOVERY_TIMEOUT_MS,
    report: (e) => {
      containers.observe(e);
      send(stamp(e));
    },
  });
  /** Executors of an earlier run are not this process's children: their exits are polled for. */
  const watch = new ExecutorWatch({
    intervalMs: WATCH_INTERVAL_MS,
    probe: probeProcess,
    report: (e) => {
      containers.observe(e);
      send(stamp(e));
    },
  });

  /** Effects must never throw into the machine: a failed publish is logged and retried by the protocol. */
  const guarded = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      log.error({ err }, `could not ${what}`);
    }
  };

  const machine = agentMachine.provide({
    actors: {
      register: fromPromise<Registered, RegistrationRequest>(({ input }) =>
        bus.request(
          subjects.masterAgent(agentId),
          AgentToMaster,
          { type: 'REGISTER', ...input },
          Registered,
          {
            timeoutMs: REGISTER_TIMEOUT_MS,
          },
        ),
      ),
    },
    actions: {
      sendToMaster: (_, p) =>
        guarded('send to the master', () =>
          bus.publish(subjects.masterAgent(agentId), AgentToMaster, p.message),
        ),
      sendToExecutor: (_, p) =>
        guarded('send to an executor', () =>
          bus.publish(subjects.executor(agentId, p.executorId), AgentToExecutor, p.message),
        ),
      spawnExecutor: (_, p) => {
        const prepared = containers.prepare(p.launch);
        if (prepared.ok) launcher.launch(prepared.launch);
        else send(stamp({ type: 'EXECUTOR_LAUNCH_FAILED', key: p.launch.key, message: prepared.message }));
      },
      signalProcessGroup: (_, p) =>
        guarded('signal a process group', () => signalProcessGroup(p.pgid, p.signal)),
      warn: (_, p) => log.warn(p.fields ?? {}, p.message),
      checkpoint: (_, p) => guarded('write the checkpoint', () => recovered.store.apply(p.ops)),
    },
  });

  let lastState = '';
  const actor = createActor(machine, {
    input: recoveredContext(createAgentContext(info, settings), recovered.plan),
    inspect: (ev) => {
      if (ev.type !== '@xstate.snapshot' || ev.actorRef !== actor) return;
      const value = JSON.stringify((ev.snapshot as { value?: unknown }).value);
      if (value !== lastState) {
        lastState = value;
        log.info({ state: JSON.parse(value) }, 'agent state');
      }
    },
  });

  let firstRegistered = false;
  let resolveRegistered!: () => void;
  let rejectRegistered!: (err: Error) => void;
  const registeredPromise = new Promise<void>((resolve, reject) => {
    resolveRegistered = resolve;
    rejectRegistered = reject;
  });
  registeredPromise.catch(() => {});
  actor.subscribe((snap) => {
    if (!firstRegistered && snap.matches('registered')) {
      firstRegistered = true;
      resolveRegistered();
    }
  });

  /** A REGISTER whose pid is not a child of that executor would let a forged message kill any process group. */
  const plausible = (msg: ExecutorToAgent): boolean => {
    if (msg.type !== 'REGISTER') return true;
    if (msg.pid <= 1 || msg.pid === process.pid) return false;
    const executorPid = actor.getSnapshot().context.tasks[taskKey(msg.frameworkId, msg.taskId)]?.executorPid;
    const parent = parentPid(msg.pid);
    return executorPid === undefined || parent === undefined || parent === executorPid;
  };

  /** The newest leader epoch seen (HA). */
  const epochs = new EpochGate();
  const unsubscribe = [
    bus.serve(subjects.agentOperator(agentId), AgentOperatorCall, async (call) => ({
      containers: await containerStatuses(
        actor.getSnapshot().context,
        (containerId, pid, docker) =>
          docker
            ? containers.dockerUsage(containerId, clock.now())
            : containers.usage(containerId, pid, clock.now()),
        call.frameworkId,
      ),
      unanswered: [],
    })),
    bus.listen(subjects.agent(agentId), StampedMasterToAgent, (msg) => {
      // HA: messages from a deposed master (an older epoch) are ignored.
      if (epochs.admit(msg.epoch) === 'stale')
        return log.warn({ epoch: msg.epoch, type: msg.type }, 'dropping a message from a deposed master');
      send({ type: 'MASTER_MESSAGE', now: clock.now(), uuid: randomUUID(), msg });
    }),
    // HA: a newly elected master announces itself; re-register with it at once.
    bus.listen(subjects.leader(), LeaderAnnouncement, (a) => {
      if (epochs.admit(a.epoch) === 'newer' && a.masterId !== actor.getSnapshot().context.masterId)
        send({ type: 'MASTER_MESSAGE', now: clock.now(), uuid: randomUUID(), msg: { type: 'REREGISTER' } });
    }),
    bus.listen(subjects.agentExecutors(agentId), ExecutorToAgent, (msg) => {
      if (!plausible(msg)) {
        log.warn({ executorId: msg.executorId }, 'dropping an executor REGISTER whose pid is not its task');
        return;
      }
      const taskStartTime = msg.type === 'REGISTER' ? processStartTime(msg.pid) : undefined;
      send({ type: 'EXECUTOR_MESSAGE', now: clock.now(), msg, ...(taskStartTime ? { taskStartTime } : {}) });
    }),
  ];
  await bus.flush();

  const cleanup = async () => {
    watch.stop();
    for (const u of unsubscribe) u();
    // The machine has waited for, then SIGKILLed, every executor; this is the last resort.
    for (const rec of Object.values(actor.getSnapshot().context.tasks)) {
      if (rec.executorExited) continue;
      for (const pgid of [rec.executorPid, rec.taskPid])
        if (pgid !== undefined) signalProcessGroup(pgid, 'SIGKILL');
    }
    launcher.killAll();
    const deadline = Date.now() + LAST_REAP_MS;
    while (launcher.running() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await containers.shutdown();
    if (!firstRegistered) rejectRegistered(new Error('the agent stopped before it registered'));
    log.info('agent stopped');
  };
  const finished = new Promise<void>((resolve) => {
    actor.subscribe({
      complete: () => resolve(),
      error: (err) => {
        log.error({ err }, 'agent actor failed');
        resolve();
      },
    });
  }).then(cleanup);

  actor.start();
  // Executors of the previous run: the live ones are told to register again and watched, the
  // ended ones reported, which fails their tasks unless a terminal update was already taken.
  for (const r of recovered.plan.reattach) {
    watch.watch(r.key, r.pid, r.startTime);
    send({ type: 'EXECUTOR_REATTACHED', key: r.key });
  }
  for (const key of recovered.plan.ended)
    send(stamp({ type: 'EXECUTOR_EXITED', key, code: null, signal: null, message: ENDED_WHILE_DOWN }));
  log.info(
    { prefix: subjects.prefix, resources: R.formatResources(info.resources), workDir: config.workDir },
    'agent starting',
  );

  let stopRequested = false;
  return {
    agentId,
    registered: () => registeredPromise,
    isolation: containers.choice,
    containerizers: containers.containerizers(),
    usage(taskId, frameworkId) {
      const rec = Object.values(actor.getSnapshot().context.tasks).find(
        (r) => r.task.taskId === taskId && (frameworkId === undefined || r.frameworkId === frameworkId),
      );
      if (!rec || rec.executorExited) return undefined;
      return containers.usage(rec.containerId, rec.taskPid, clock.now());
    },
    async stop() {
      if (!stopRequested) {
        stopRequested = true;
        send({ type: 'STOP' });
      }
      await finished;
    },
  };
}
