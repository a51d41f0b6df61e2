import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { DEFAULT_DOCKER_SOCKET, dockerClient, probeDocker } from '../../isolation/index.js';

/** TINY_IMAGE is the test image: `FROM scratch` with dash as /bin/sh, echo, cat, sleep and their libs. */
export const TINY_IMAGE = 'mezzo-test/tiny:latest';

/** TestDocker is a Docker engine for a test file, or why there is none on this machine. */
export type TestDocker =
  | { available: true; docker: Docker; socketPath: string; stop(): Promise<void> }
  | { available: false; why: string; stop(): Promise<void> };

const noop = async () => {};

/** waitFor polls until `check` is true or the deadline passes. */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/**
 * startTestDocker gives a test file a Docker engine: the one on /var/run/docker.sock if it answers,
 * else a dockerd it starts itself (root only; its log in a temp file), which `stop` ends with
 * SIGTERM to that one pid. Where dockerd is missing or cannot start, it says why, and the caller
 * asserts the no-Docker behaviour instead. `MEZZO_TEST_NO_DOCKER=1` plays a host without Docker.
 */
export async function startTestDocker(): Promise<TestDocker> {
  if (process.env.MEZZO_TEST_NO_DOCKER)
    return { available: false, why: 'MEZZO_TEST_NO_DOCKER is set', stop: noop };
  const socketPath = DEFAULT_DOCKER_SOCKET;
  if ((await probeDocker(socketPath, 1000)) === true)
    return { available: true, docker: dockerClient(socketPath), socketPath, stop: noop };
  if (process.getuid?.() !== 0)
    return { available: false, why: 'not root: cannot start dockerd', stop: noop };
  const logDir = mkdtempSync(join(tmpdir(), 'mezzo-dockerd-'));
  const logFile = join(logDir, 'dockerd.log');
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('dockerd', ['--data-root', '/var/lib/docker', '--host', `unix://${socketPath}`], {
      stdio: ['ignore', log, log],
    });
  } catch (err) {
    return { available: false, why: `cannot spawn dockerd: ${(err as Error).message}`, stop: noop };
  }
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });
  const stop = async () => {
    if (!exited && child.pid !== undefined) child.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
    if (!exited) child.kill('SIGKILL');
    rmSync(logDir, { recursive: true, force: true });
  };
  const up = await waitFor(async () => !exited && (await probeDocker(socketPath, 500)) === true, 30_000);
  if (!up) {
    await stop();
    return { available: false, why: `dockerd did not come up (see its log at ${logFile})`, stop: noop };
  }
  return { available: true, docker: dockerClient(socketPath), socketPath, stop };
}

/** libsOf lists the shared libraries `ldd` names for a binary (resolved paths as the binary asks for them). */
function libsOf(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = line.match(/=>\s+(\/\S+)/) ?? line.match(/^\s+(\/\S+)\s+\(/);
    if (m) libs.push(m[1]);
  }
  return libs;
}

/**
 * buildTinyImage builds `mezzo-test/tiny:latest` from scratch with no registry: a build context in
 * a temp dir holding the host's /bin/sh (dash), echo, cat, sleep and the libraries ldd lists, sent
 * to the engine's build API. An image already there is kept.
 */
export async function buildTinyImage(docker: Docker): Promise<void> {
  const found = await docker
    .getImage(TINY_IMAGE)
    .inspect()
    .then(() => true)
    .catch(() => false);
  if (found) return;
  const ctx = mkdtempSync(join(tmpdir(), 'mezzo-image-'));
  try {
    const put = (hostPath: string, imagePath: string) => {
      const to = join(ctx, imagePath);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(realpathSync(hostPath), to);
    };
    const binaries: Record<string, string> = {
      '/bin/sh': 'bin/sh',
      '/usr/bin/echo': 'bin/echo',
      '/usr/bin/cat': 'bin/cat',
      '/usr/bin/sleep': 'bin/sleep',
    };
    const libs = new Set<string>();
    for (const [host, inImage] of Object.entries(binaries)) {
      put(host, inImage);
      for (const lib of libsOf(host)) libs.add(lib);
    }
    for (const lib of libs) put(lib, lib.slice(1));
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY . /\nENV PATH=/bin\nCMD ["/bin/sh"]\n');
    const roots = ['Dockerfile', 'bin', ...new Set([...libs].map((l) => l.split('/')[1]))];
    const stream = await docker.buildImage({ context: ctx, src: roots }, { t: TINY_IMAGE, rm: true });
    const out = await new Promise<{ error?: string; errorDetail?: unknown }[]>((resolve, reject) =>
      docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))),
    );
    const failed = out.find((o) => o.error);
    if (failed) throw new Error(`building ${TINY_IMAGE} failed: ${failed.error}`);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}
