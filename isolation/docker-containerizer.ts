import { createRequire } from 'node:module';
import { type Duplex, Writable } from 'node:stream';
import type Docker from 'dockerode';
import {
  type DockerEnd,
  DockerLabel,
  type DockerTaskSpec,
  dockerContainerName,
  dockerCreateOptions,
  dockerEnd,
  missingImageMessage,
} from './docker-spec.js';

/** DEFAULT_DOCKER_SOCKET is where the Docker engine listens unless told otherwise. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** How long a task's attached output may take to close after its container stopped. */
const OUTPUT_CLOSE_GRACE_MS = 2000;

let dockerode: typeof Docker | undefined;

/**
 * engineClient makes a Docker engine client, loading dockerode when it is first needed: loading it
 * costs an executor about 0.2 s of CPU, and most executors run command tasks that never use it.
 */
function engineClient(options: Docker.DockerOptions): Docker {
  dockerode ??= createRequire(import.meta.url)('dockerode') as typeof Docker;
  return new dockerode(options);
}

/** dockerClient is a Docker engine API client on a unix socket. */
export function dockerClient(socketPath: string = DEFAULT_DOCKER_SOCKET): Docker {
  return engineClient({ socketPath });
}

/** DockerError is a failure to talk to the Docker engine, with the engine's own error as `cause`. */
export class DockerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DockerError';
  }
}

/** statusCode is the HTTP status of a docker-modem error, if it has one. */
function statusCode(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown })?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** engineMessage is the engine's words for an error (its JSON `message`), else the error's message. */
export function engineMessage(err: unknown): string {
  const json = (err as { json?: { message?: unknown } })?.json;
  if (json && typeof json.message === 'string') return json.message.trim();
  return (err as Error)?.message ?? String(err);
}

/**
 * probeDocker says whether the engine at `socketPath` answers a ping within `timeoutMs`: true, or
 * why not (no socket, permission denied, not answering).
 */
export async function probeDocker(
  socketPath: string = DEFAULT_DOCKER_SOCKET,
  timeoutMs = 2000,
): Promise<true | string> {
  const docker = engineClient({ socketPath, timeout: timeoutMs });
  try {
    await docker.ping();
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `the engine at ${socketPath} does not answer (${code ?? engineMessage(err)})`;
  }
}

/** DockerTaskEvents are what a Docker task tells the executor. */
export interface DockerTaskEvents {
  /** The container runs. */
  started(): void;
  /** The container could not be made or started (missing image, bad command); nothing is left behind. */
  failed(message: string): void;
  /** The container stopped; its output has ended and the container is removed. */
  exited(end: DockerEnd): void;
}

/** DockerTaskOutput takes the container's stdout and stderr. */
export interface DockerTaskOutput {
  stdout(data: Uint8Array): void;
  stderr(data: Uint8Array): void;
}

/** DockerTask is a running Docker task. */
export interface DockerTask {
  /** Sends a signal to the container's init, which passes it to the task (`docker kill -s`). */
  signal(signal: 'SIGTERM' | 'SIGKILL'): void;
}

function sink(write: (data: Uint8Array) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      write(chunk);
      cb();
    },
  });
}

/**
 * runDockerTask runs one task in a container: it checks that the image is on this engine (it never
 * pulls), creates the container (`dockerCreateOptions`), attaches to its output before starting it
 * (so not a byte is lost), starts it, waits for it to stop, reads its exit status and whether it
 * was OOM-killed, and removes it. `signal` is `docker kill -s`: the executor's machine sends
 * SIGTERM, then SIGKILL after the grace period, which is `docker stop` with the task's grace.
 */
export function runDockerTask(
  docker: Docker,
  spec: DockerTaskSpec,
  output: DockerTaskOutput,
  events: DockerTaskEvents,
): DockerTask {
  let container: Docker.Container | undefined;
  let running = false;
  let finished = false;
  let killRequested = false;
  const pending: ('SIGTERM' | 'SIGKILL')[] = [];

  const remove = async () => {
    await container?.remove({ force: true, v: true }).catch(() => {});
  };

  const kill = (signal: 'SIGTERM' | 'SIGKILL') => {
    container?.kill({ signal }).catch(() => {
      // Not running any more: it is stopping on its own.
    });
  };

  const run = async () => {
    try {
      await docker.getImage(spec.image).inspect();
    } catch (err) {
      if (statusCode(err) === 404) throw new DockerError(missingImageMessage(spec.image), { cause: err });
      throw new DockerError(`could not inspect image ${spec.image}: ${engineMessage(err)}`, { cause: err });
    }
    try {
      container = await docker.createContainer(dockerCreateOptions(spec));
    } catch (err) {
      throw new DockerError(`could not create the container: ${engineMessage(err)}`, { cause: err });
    }
    const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as Duplex;
    const ended = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    container.modem.demuxStream(stream, sink(output.stdout), sink(output.stderr));
    try {
      await container.start();
    } catch (err) {
      stream.destroy();
      throw new DockerError(`could not start the container: ${engineMessage(err)}`, { cause: err });
    }
    running = true;
    events.started();
    for (const s of pending.splice(0)) kill(s);
    try {
      await container.wait();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise<void>((r) => (timer = setTimeout(r, OUTPUT_CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      stream.destroy();
      const info = await container.inspect();
      return dockerEnd(info.State, killRequested);
    } catch {
      // The engine went away under a running task: it ended, with no status to tell.
      stream.destroy();
      return { exitCode: null, signal: null, oomKilled: false };
    }
  };

  run().then(
    async (end) => {
      finished = true;
      await remove();
      events.exited(end);
    },
    async (err) => {
      finished = true;
      await remove();
      events.failed(err instanceof DockerError ? err.message : `docker: ${engineMessage(err)}`);
    },
  );

  return {
    signal(signal) {
      if (finished) return;
      killRequested = true;
      if (running) kill(signal);
      else pending.push(signal);
    },
  };
}

/**
 * removeDockerContainers force-removes the containers labelled with this agent's id, except those
 * `keep` names (by container name); it returns the names of those it removed. A starting agent
 * owns no executors, so it keeps none: whatever a crashed run left goes.
 */
export async function removeDockerContainers(
  docker: Docker,
  agentId: string,
  keep: (name: string) => boolean = () => false,
): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${DockerLabel.AGENT}=${agentId}`] },
  });
  const removed: string[] = [];
  for (const c of list) {
    const name = (c.Names[0] ?? c.Id).replace(/^\//, '');
    if (keep(name)) continue;
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .then(() => removed.push(name))
      .catch((err) => {
        if (statusCode(err) !== 404)
          throw new DockerError(`could not remove container ${name}`, { cause: err });
      });
  }
  return removed.sort();
}

/** removeDockerContainer force-removes one task's container by its agent container id; a missing one is fine. */
export async function removeDockerContainer(docker: Docker, containerId: string): Promise<boolean> {
  try {
    await docker.getContainer(dockerContainerName(containerId)).remove({ force: true, v: true });
    return true;
  } catch (err) {
    if (statusCode(err) === 404) return false;
    throw new DockerError(`could not remove container ${dockerContainerName(containerId)}`, { cause: err });
  }
}
