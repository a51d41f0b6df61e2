import { describe, expect, it } from 'vitest';
import { RequestMux, RequestTimeoutError } from '../../bus/index.js';
import { testScope } from '../support/scope.js';

const scope = testScope();
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function muxed(opts: { sweepEveryMs?: number } = {}) {
  const nats = await scope.startNats();
  const server = await nats.bus('responder');
  const client = await nats.bus('requester');
  const mux = new RequestMux(client.nc, opts);
  scope.defer(async () => mux.close());
  return { nats, server, mux };
}

describe('requests through one reply subscription (RequestMux)', () => {
  it('gives each request its own reply, whatever order the replies come in', async () => {
    const { nats, server, mux } = await muxed();
    // The responder answers in reverse order of arrival, once it holds all 50.
    const held: { reply: string; data: string }[] = [];
    server.nc.subscribe(`${nats.prefix}.echo.*`, {
      callback: (_err, msg) => {
        held.push({ reply: msg.reply as string, data: `${msg.subject}:${text(msg.data)}` });
        if (held.length === 50)
          for (const h of held.reverse()) server.nc.publish(h.reply, bytes(`re ${h.data}`));
      },
    });
    await server.flush();
    const asked = Array.from({ length: 50 }, (_, i) =>
      mux.request(`${nats.prefix}.echo.${i}`, bytes(`n${i}`), 10_000).then(text),
    );
    const answers = await Promise.all(asked);
    expect(answers).toEqual(Array.from({ length: 50 }, (_, i) => `re ${nats.prefix}.echo.${i}:n${i}`));
    expect(mux.inFlight()).toBe(0);
  });

  it('fails a request nobody subscribes to at once, with no responders as the cause', async () => {
    const { nats, mux } = await muxed();
    const started = Date.now();
    const err = await mux.request(`${nats.prefix}.nobody`, bytes('x'), 10_000).catch((e) => e);
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect((err as RequestTimeoutError).code).toBe('UNAVAILABLE');
    expect(((err as Error).cause as Error).message).toBe('no responders');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(mux.inFlight()).toBe(0);
  });

  it('fails a request unanswered past its deadline, and ignores the reply that comes later', async () => {
    const { nats, server, mux } = await muxed({ sweepEveryMs: 20 });
    let late: (() => void) | undefined;
    server.nc.subscribe(`${nats.prefix}.slow`, {
      callback: (_err, msg) => {
        late = () => server.nc.publish(msg.reply as string, bytes('too late'));
      },
    });
    await server.flush();
    const started = Date.now();
    const err = await mux.request(`${nats.prefix}.slow`, bytes('x'), 200).catch((e) => e);
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect(((err as Error).cause as Error).message).toBe('timed out');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    late?.();
    await server.flush();
    expect(mux.inFlight()).toBe(0);
  });

  it('fails what is still waiting when closed, and refuses new requests', async () => {
    const { nats, server, mux } = await muxed();
    server.nc.subscribe(`${nats.prefix}.never`, { callback: () => {} });
    await server.flush();
    const waiting = mux.request(`${nats.prefix}.never`, bytes('x'), 60_000).catch((e) => e);
    await new Promise((r) => setTimeout(r, 50));
    mux.close();
    expect(await waiting).toBeInstanceOf(RequestTimeoutError);
    await expect(mux.request(`${nats.prefix}.never`, bytes('y'), 1000)).rejects.toBeInstanceOf(
      RequestTimeoutError,
    );
  });
});
