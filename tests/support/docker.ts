import { execFileSync, spawn } from 'node:child_process';
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

/** DOCKERD_LOG is where a dockerd started for the tests logs (the same file `npm run images` uses). */
const DOCKERD_LOG = '/var/log/mezzo-dockerd.log';

/**
 * startTestDocker gives a test file a Docker engine: the one on /var/run/docker.sock if it answers,
 * else a dockerd it starts itself (root only). A dockerd started here stays up for the rest of the
 * run, as the system's would, and is shared: test files run in parallel, so one file stopping
 * the engine would pull it from under another's containers or image build (two files starting one
 * at once is fine: the second dockerd exits on the first's pid file, and both wait for the
 * socket). Where dockerd is missing or cannot start, it says why, and the caller asserts the
 * no-Docker behaviour instead. `MEZZO_TEST_NO_DOCKER=1` plays a host without Docker.
 */
export async function startTestDocker(): Promise<TestDocker> {
  if (process.env.MEZZO_TEST_NO_DOCKER)
    return { available: false, why: 'MEZZO_TEST_NO_DOCKER is set', stop: noop };
  const socketPath = DEFAULT_DOCKER_SOCKET;
  if ((await probeDocker(socketPath, 1000)) === true)
    return { available: true, docker: dockerClient(socketPath), socketPath, stop: noop };
  if (process.getuid?.() !== 0)
    return { available: false, why: 'not root: cannot start dockerd', stop: noop };
  try {
    const log = openSync(DOCKERD_LOG, 'a');
    const child = spawn('dockerd', ['--data-root', '/var/lib/docker', '--host', `unix://${socketPath}`], {
      stdio: ['ignore', log, log],
      detached: true,
    });
    child.once('error', () => {});
    child.unref();
  } catch (err) {
    return { available: false, why: `cannot spawn dockerd: ${(err as Error).message}`, stop: noop };
  }
  const up = await waitFor(async () => (await probeDocker(socketPath, 500)) === true, 30_000);
  if (!up) return { available: false, why: `dockerd did not come up (see ${DOCKERD_LOG})`, stop: noop };
  return { available: true, docker: dockerClient(socketPath), socketPath, stop: noop };
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
