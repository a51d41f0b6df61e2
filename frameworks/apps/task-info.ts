import type { HealthCheckInput, TaskInfoInput } from '../../protocol/index.js';
import type { Fit } from './offer-fit.js';
import type { HealthCheckSpec } from './spec.js';

/** RunnableSpec is what a Service or Job spec says about running a task. */
export interface RunnableSpec {
  command?: string | string[];
  image?: string;
  env: Record<string, string>;
  killGracePeriodSeconds?: number;
}

/** portEnv names the ports of an instance: PORT, PORT0.., and PORT_<NAME> for named ports. */
export function portEnv(ports: readonly number[], names: readonly string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  ports.forEach((p, i) => {
    env[`PORT${i}`] = String(p);
    const name = names[i];
    if (name) env[`PORT_${name.toUpperCase()}`] = String(p);
  });
  if (ports.length) env.PORT = String(ports[0]);
  return env;
}

/** healthCheckFor resolves a spec's health check against the ports an instance got. */
export function healthCheckFor(
  h: HealthCheckSpec,
  ports: readonly number[],
  names: readonly string[],
): HealthCheckInput {
  const timing = {
    delaySeconds: h.delaySeconds,
    intervalSeconds: h.intervalSeconds,
    timeoutSeconds: h.timeoutSeconds,
    gracePeriodSeconds: h.gracePeriodSeconds,
    consecutiveFailures: h.consecutiveFailures,
  };
  if (h.type === 'COMMAND')
    return { type: 'COMMAND', ...timing, command: { shell: true, value: h.command as string } };
  const index = typeof h.port === 'number' ? h.port : names.indexOf(h.port);
  const port = ports[index] as number;
  return h.type === 'HTTP'
    ? { type: 'HTTP', ...timing, http: { port, path: h.path } }
    : { type: 'TCP', ...timing, tcp: { port } };
}

/** taskInfoFor builds the TaskInfo of one task of a spec on the resources it got. */
export function taskInfoFor(
  spec: RunnableSpec,
  taskId: string,
  name: string,
  fit: Fit,
  extraEnv: Record<string, string>,
  labels: Record<string, string>,
  healthCheck?: HealthCheckInput,
): TaskInfoInput {
  const env = { ...spec.env, ...extraEnv };
  const cmd = spec.command as string | string[];
  return {
    taskId,
    name,
    resources: fit.resources,
    command: typeof cmd === 'string' ? { shell: true, value: cmd, env } : { shell: false, argv: cmd, env },
    ...(spec.image ? { container: { type: 'DOCKER', docker: { image: spec.image } } } : {}),
    ...(spec.killGracePeriodSeconds !== undefined
      ? { killPolicy: { gracePeriodSeconds: spec.killGracePeriodSeconds } }
      : {}),
    ...(healthCheck ? { healthCheck } : {}),
    labels,
  };
}
