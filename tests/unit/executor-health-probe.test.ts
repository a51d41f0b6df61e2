import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandProbe, httpProbe, runProbe, tcpProbe } from '../../actors/executor/health-probe.js';
import { HealthCheck } from '../../protocol/index.js';
import { alive, waitFor } from '../support/processes.js';

/** listen starts a server on a free 127.0.0.1 port and gives the port. */
function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

/** closedPort is a port that was free a moment ago and has nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

describe('health probes against real processes and sockets', () => {
  let sandbox: string;
  let http: Server;
  let httpPort: number;

  beforeAll(async () => {
    sandbox = mkdtempSync(join(tmpdir(), 'mezzo-probe-'));
    http = createHttpServer((req, res) => {
      if (req.url === '/hang') return; // never answers
      res.statusCode = Number(req.url?.slice(1)) || 200;
      res.end();
    });
    httpPort = await listen(http);
  });
  afterAll(() => {
    http.closeAllConnections();
    http.close();
    rmSync(sandbox, { recursive: true, force: true });
  });

  const ctx = () => ({ sandbox, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FROM_TASK: 'task' } });

  it('COMMAND passes on exit 0, in the sandbox, with the task env and the check’s own env over it', async () => {
    const r = await commandProbe(
      {
        shell: true,
        value: 'test "$PWD" = "$WANT" && test "$FROM_TASK" = task && test "$OWN" = 1',
        env: { OWN: '1', WANT: sandbox },
      },
      ctx(),
      5000,
    );
    expect(r).toEqual({ ok: true });
  });

  it('COMMAND fails on a non-zero exit and says which', async () => {
    expect(await commandProbe({ shell: true, value: 'exit 3', env: {} }, ctx(), 5000)).toEqual({
      ok: false,
      message: 'the health check command exited with status 3',
    });
  });

  it('COMMAND fails at its timeout and SIGKILLs its whole process group', async () => {
    const pidFile = join(sandbox, 'bg.pid');
    const t0 = Date.now();
    const r = await commandProbe(
      { shell: true, value: `sleep 30 & echo $! > "${pidFile}"; wait`, env: {} },
      ctx(),
      500,
    );
    expect(r).toEqual({ ok: false, message: 'the health check command timed out after 0.5s' });
    expect(Date.now() - t0).toBeLessThan(5000);
    const bg = Number(readFileSync(pidFile, 'utf8'));
    await waitFor(() => !alive(bg), 5000, 'the background sleep of the check to die');
  });

  it('COMMAND is SIGKILLed with its group when the executor ends while it runs', async () => {
    const pidFile = join(sandbox, 'aborted.pid');
    const ending = new AbortController();
    const probe = commandProbe(
      { shell: true, value: `sleep 30 & echo $! > "${pidFile}"; wait`, env: {} },
      { ...ctx(), signal: ending.signal },
      30_000,
    );
    await waitFor(
      () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '',
      5000,
      'the pid file',
    );
    ending.abort();
    expect(await probe).toEqual({ ok: false, message: 'the executor is ending' });
    const bg = Number(readFileSync(pidFile, 'utf8'));
    await waitFor(() => !alive(bg), 5000, 'the background sleep of the check to die');
  });

  it('COMMAND fails when its program does not exist', async () => {
    const r = await commandProbe({ shell: false, argv: ['/nonexistent/probe'], env: {} }, ctx(), 5000);
    expect(r.ok).toBe(false);
    expect(r.message).toContain('could not run the health check command');
  });

  it.each([
    [200, true],
    [204, true],
    [302, true],
    [399, true],
    [404, false],
    [500, false],
    [503, false],
  ])('HTTP answered %i passes: %s', async (code, ok) => {
    const r = await httpProbe(httpPort, `/${code}`, 5000);
    expect(r.ok).toBe(ok);
    if (!ok) expect(r.message).toBe(`GET /${code} answered ${code}`);
  });

  it('HTTP fails when the server does not answer within the timeout, or nothing listens', async () => {
    expect(await httpProbe(httpPort, '/hang', 300)).toEqual({
      ok: false,
      message: 'GET /hang did not answer within 0.3s',
    });
    const refused = await httpProbe(await closedPort(), '/', 5000);
    expect(refused.ok).toBe(false);
    expect(refused.message).toContain('ECONNREFUSED');
  });

  it('TCP passes while a port accepts and fails once nothing listens', async () => {
    const server = createTcpServer((s) => s.destroy());
    const port = await listen(server);
    expect(await tcpProbe(port, 5000)).toEqual({ ok: true });
    await new Promise((r) => server.close(r));
    const r = await tcpProbe(port, 5000);
    expect(r.ok).toBe(false);
    expect(r.message).toContain('ECONNREFUSED');
  });

  it('runProbe probes what the check names', async () => {
    const check = HealthCheck.parse({
      type: 'HTTP',
      http: { port: httpPort, path: '/500' },
      timeoutSeconds: 2,
    });
    expect(await runProbe(check, ctx())).toEqual({ ok: false, message: 'GET /500 answered 500' });
    const cmd = HealthCheck.parse({ type: 'COMMAND', command: { value: 'true' } });
    expect(await runProbe(cmd, ctx())).toEqual({ ok: true });
  });
});
