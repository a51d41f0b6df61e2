import type { Offer, Subscribed, TaskStatus } from '../../protocol/index.js';
import { isTerminal, TaskState } from '../../protocol/index.js';
import type { AppsCall, ServiceView } from '../apps/api.js';
import { parseConstraint } from '../apps/constraints.js';
import {
  type AppHost,
  type AppHostOptions,
  type AppLogic,
  badRequest,
  notFound,
  startAppHost,
} from '../apps/host.js';
import { offerPool, wantOf } from '../apps/offer-fit.js';
import { OutputTails } from '../apps/output-tail.js';
import { LaunchBatch, placeOne, settleOffers } from '../apps/placement.js';
import { ServiceSpec } from '../apps/spec.js';
import { formatSpecIssues } from '../apps/spec-file.js';
import { healthCheckFor, portEnv, taskInfoFor } from '../apps/task-info.js';
import { isHealthy, isLive, plan } from './plan.js';
import { type ServiceState, ServiceState as ServiceStateSchema } from './service-state.js';
import {
  applySpec,
  isGone,
  killing,
  launched,
  markDeleting,
  nextTaskId,
  restart,
  scale,
  settle,
  taskUpdated,
} from './transitions.js';

const KEY = (name: string) => `service.${name}`;
const REVIVE_EVERY_MS = 1000;
const RECONCILE_EVERY_MS = 60_000;

/** ServicesFramework is a running services framework. */
export interface ServicesFramework {
  host: AppHost;
  stop(): Promise<void>;
}

/**
 * startServicesFramework runs the services framework (Marathon's job): it keeps each service's
 * instances running and healthy, rolls out spec changes and serves `apps.services`.
 */
export async function startServicesFramework(opts: AppHostOptions): Promise<ServicesFramework> {
  const host = await startAppHost('Service', opts, (h) => servicesLogic(h));
  return { host, stop: () => host.stop() };
}

function portNames(spec: ServiceSpec): string[] {
  return Array.isArray(spec.ports) ? spec.ports : [];
}
function portCount(spec: ServiceSpec): number {
  return Array.isArray(spec.ports) ? spec.ports.length : spec.ports;
}

/** servicesLogic is the thin runtime around plan/settle and the state transitions. */
function servicesLogic(host: AppHost): AppLogic {
  const { store, scheduler, clock, log } = host;
  const services = new Map<string, ServiceState>();
  const owner = new Map<string, string>();
  let loaded = false;
  let lastRevive = 0;
  let lastReconcile = clock.now();
  const liveTasks = () =>
    [...services.values()].flatMap((s) =>
      Object.entries(s.instances)
        .filter(([, i]) => !isTerminal(i.state as TaskState))
        .map(([taskId, i]) => ({ taskId, agentId: i.agentId })),
    );
  const tails = new OutputTails((taskId, onChunk) => scheduler.followOutput(taskId, onChunk));

  async function load(): Promise<void> {
    if (loaded) return;
    for (const key of await store.keys('service.')) {
      const s = await store.get(key, ServiceStateSchema);
      if (s) remember(s);
    }
    loaded = true;
  }
  function remember(s: ServiceState): void {
    services.set(s.spec.name, s);
    for (const id of Object.keys(s.instances)) owner.set(id, s.spec.name);
    // Ended instances stay findable (their logs) until many have come and gone.
    if (owner.size > 500) {
      const live = new Set([...services.values()].flatMap((x) => Object.keys(x.instances)));
      for (const id of owner.keys()) if (!live.has(id)) owner.delete(id);
      tails.keepOnly(live);
    }
  }
  async function save(s: ServiceState): Promise<void> {
    if (isGone(s)) {
      await store.delete(KEY(s.spec.name));
      services.delete(s.spec.name);
      return;
    }
    await store.put(KEY(s.spec.name), ServiceStateSchema, s);
    remember(s);
  }
  async function reviveSoon(now: number, force = false): Promise<void> {
    if (!force && now - lastRevive < REVIVE_EVERY_MS) return;
    lastRevive = now;
    await scheduler.revive().catch(() => {});
  }
  /** act settles rollouts, then sends the kills the plan asks for; returns whether launches wait. */
  async function act(s0: ServiceState, now: number): Promise<boolean> {
    let s = settle(s0, now);
    const p = plan(s, now);
    s = killing(s, p.kill, now);
    if (s !== s0) await save(s);
    for (const id of p.kill) {
      const i = s.instances[id];
      await scheduler.kill(id, i?.agentId).catch((err) => log.warn({ err, taskId: id }, 'kill failed'));
    }
    return p.launch > 0;
  }
  function view(s: ServiceState): ServiceView {
    const live = Object.entries(s.instances).filter(([, i]) => !isTerminal(i.state as TaskState));
    return {
      name: s.spec.name,
      frameworkId: scheduler.frameworkId,
      version: s.version,
      spec: s.spec,
      desired: s.deleting ? 0 : s.spec.instances,
      running: live.filter(([, i]) => isLive(i) && i.state === TaskState.RUNNING).length,
      healthy: live.filter(([, i]) => isHealthy(i)).length,
      ...(s.deployment
        ? {
            deployment: {
              fromVersion: s.deployment.fromVersion,
              toVersion: s.deployment.toVersion,
              startedAt: s.deployment.startedAt,
              failures: s.deployment.failures,
            },
          }
        : {}),
      instances: live.map(([taskId, i]) => ({
        taskId,
        version: i.version,
        state: i.killing ? `${i.state} (killing)` : i.state,
        healthy: isHealthy(i),
        agentId: i.agentId,
        hostname: i.hostname,
        ports: i.ports,
        startedAt: i.startedAt,
      })),
      events: s.events,
    };
  }

  return {
    async subscribed(info: Subscribed) {
      await load();
      const active = liveTasks();
      lastReconcile = clock.now();
      log.info(
        { frameworkId: info.frameworkId, resubscribed: info.resubscribed, active: active.length },
        'subscribed; reconciling',
      );
      for (const a of active) tails.follow(a.taskId);
      if (active.length)
        await scheduler.reconcile(active).catch((err) => log.warn({ err }, 'reconcile failed'));
      await reviveSoon(clock.now(), true);
    },

    async offers(offers: Offer[]) {
      await load();
      const now = clock.now();
      const pool = offerPool(offers);
      const batch = new LaunchBatch();
      let wantsMore = false;
      for (const s0 of [...services.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name))) {
        let s = settle(s0, now);
        const p = plan(s, now);
        const constraints = s.spec.constraints.map(parseConstraint);
        const want = wantOf(s.spec.resources);
        for (let k = 0; k < p.launch; k++) {
          const placed = Object.values(s.instances)
            .filter(isLive)
            .map((i) => ({ hostname: i.hostname, attributes: i.attributes }));
          const spot = placeOne(pool, want, portCount(s.spec), constraints, placed);
          if (!spot) {
            wantsMore = true;
            break;
          }
          const [taskId, withSeq] = nextTaskId(s);
          const names = portNames(s.spec);
          const env = {
            ...portEnv(spot.fit.ports, names),
            SERVICE_NAME: s.spec.name,
            SERVICE_VERSION: String(s.version),
            HOST: spot.offer.hostname,
          };
          const hc = s.spec.healthCheck
            ? healthCheckFor(s.spec.healthCheck, spot.fit.ports, names)
            : undefined;
          tails.follow(taskId);
          batch.add(
            spot.offer,
            taskInfoFor(
              s.spec,
              taskId,
              s.spec.name,
              spot.fit,
              env,
              { 'mezzo.service': s.spec.name, 'mezzo.version': String(s.version) },
              hc,
            ),
          );
          s = launched(
            withSeq,
            taskId,
            {
              version: s.version,
              checked: !!hc,
              agentId: spot.offer.agentId,
              hostname: spot.offer.hostname,
              attributes: spot.offer.attributes,
              ports: spot.fit.ports,
              startedAt: now,
            },
            now,
          );
        }
        // Stored before the ACCEPT goes out: a restart knows every instance it may have launched.
        if (s !== s0) await save(s);
      }
      const failed = await settleOffers(scheduler, offers, batch, wantsMore);
      for (const f of failed) {
        for (const t of f.tasks) {
          await this.update({
            taskId: t.taskId,
            state: TaskState.DROPPED,
            source: 'SOURCE_MASTER',
            message: `launch refused: ${f.error.message}`,
            timestamp: now / 1000,
          });
        }
      }
    },

    async update(status: TaskStatus) {
      await load();
      const name = owner.get(status.taskId);
      const s = name ? services.get(name) : undefined;
      if (!s?.instances[status.taskId]) {
        if (!isTerminal(status.state)) await scheduler.kill(status.taskId, status.agentId).catch(() => {});
        return;
      }
      const now = clock.now();
      if (isTerminal(status.state)) tails.unfollow(status.taskId);
      const next = taskUpdated(s, status, now);
      if (next !== s) await save(next);
      if (services.has(next.spec.name)) await act(next, now);
    },

    async tick(now: number) {
      await load();
      // Explicit reconciliation now and then (as Marathon does): a lost update cannot strand an instance.
      if (now - lastReconcile >= RECONCILE_EVERY_MS) {
        lastReconcile = now;
        const active = liveTasks();
        if (active.length)
          await scheduler.reconcile(active).catch((err) => log.warn({ err }, 'reconcile failed'));
      }
      let waiting = false;
      for (const s of [...services.values()]) {
        if (isGone(s)) {
          await save(s);
          continue;
        }
        if (await act(s, now)) waiting = true;
      }
      if (waiting) await reviveSoon(now);
    },

    async call(call: AppsCall) {
      await load();
      const now = clock.now();
      switch (call.type) {
        case 'APPLY': {
          const r = ServiceSpec.safeParse(call.spec);
          if (!r.success)
            throw badRequest(
              formatSpecIssues(`services.${String(call.spec.name ?? '')}`, r.error).join('; '),
            );
          const old = services.get(r.data.name);
          if (old?.deleting)
            throw badRequest(`service ${r.data.name} is being deleted; apply it again once it is gone`);
          const applied = applySpec(old, r.data, now);
          if (applied.action !== 'unchanged') {
            await save(applied.state);
            await act(applied.state, now);
            await reviveSoon(now, true);
          }
          return {
            name: r.data.name,
            action: applied.action,
            changes: applied.changes,
            version: applied.state.version,
          };
        }
        case 'LIST':
          return {
            items: [...services.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name)).map(view),
          };
        case 'GET': {
          const s = services.get(call.name);
          if (!s) throw notFound('Service', call.name);
          return view(s);
        }
        case 'SCALE': {
          const s = services.get(call.name);
          if (!s || s.deleting) throw notFound('Service', call.name);
          const next = scale(s, call.instances, now);
          await save(next);
          await act(next, now);
          await reviveSoon(now, true);
          return {
            name: call.name,
            message: `service ${call.name} scaled from ${s.spec.instances} to ${call.instances}`,
          };
        }
        case 'RESTART': {
          const s = services.get(call.name);
          if (!s || s.deleting) throw notFound('Service', call.name);
          const next = restart(s, now);
          await save(next);
          await act(next, now);
          await reviveSoon(now, true);
          return { name: call.name, message: `service ${call.name} restarting as version ${next.version}` };
        }
        case 'LOGS': {
          const s = services.get(call.name) ?? services.get(owner.get(call.name) ?? '');
          if (!s) throw notFound('Service', call.name);
          const ids = services.has(call.name) ? Object.keys(s.instances) : [call.name];
          return {
            frameworkId: scheduler.frameworkId,
            tasks: ids.map((taskId) => ({
              taskId,
              state: s.instances[taskId]?.state ?? 'ended',
              ...tails.get(taskId),
            })),
          };
        }
        case 'DELETE': {
          const s = services.get(call.name);
          if (!s) throw notFound('Service', call.name);
          const next = markDeleting(s, now);
          await save(next);
          if (services.has(call.name)) await act(next, now);
          return { name: call.name, message: `service ${call.name} deleted; its instances are being killed` };
        }
      }
    },
  };
}
