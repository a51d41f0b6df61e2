import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { encode, RemoteError } from '../../bus/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';

const Ping = z.discriminatedUnion('type', [z.object({ type: z.literal('PING'), n: z.number().int() })]);

describe('the bus against a real nats-server', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startTestNats();
  });
  afterAll(async () => {
    await nats.stop();
  });

  it('answers a valid request with the handler result', async () => {
    const server = await nats.bus();
    const client = await nats.bus();
    server.serve(`${nats.prefix}.ping`, Ping, (m) => ({ pong: m.n + 1 }));
    await server.flush();
    const r = await client.request(
      `${nats.prefix}.ping`,
      Ping,
      { type: 'PING', n: 1 },
      z.object({ pong: z.number() }),
    );
    expect(r).toEqual({ pong: 2 });
  });

  it('overhears requests served by another without ever answering them, dropping malformed ones', async () => {
    const server = await nats.bus();
    const listener = await nats.bus();
    const client = await nats.bus();
    const subject = `${nats.prefix}.overheard`;
    const heard: number[] = [];
    const stop = listener.overhear?.(subject, Ping, (m) => void heard.push(m.n));
    await listener.flush();
    // Nobody serves yet: the request times out rather than get an answer from the listener.
    await expect(
      client.request(subject, Ping, { type: 'PING', n: 1 }, z.object({ pong: z.number() }), {
        timeoutMs: 200,
      }),
    ).rejects.toThrow(/no answer/);
    server.serve(subject, Ping, async (m) => {
      // The server answers late: an answer from the listener would have come first.
      await new Promise((r) => setTimeout(r, 50));
      return { pong: m.n + 1 };
    });
    await server.flush();
    const r = await client.request(subject, Ping, { type: 'PING', n: 2 }, z.object({ pong: z.number() }));
    expect(r).toEqual({ pong: 3 });
    // Malformed bytes: the server answers with an error, the listener drops them silently.
    const raw = await client.nc.request(subject, encode({ type: 'PING', n: 'x' }), { timeout: 2000 });
    expect(raw.data.length).toBeGreaterThan(0);
    await listener.flush();
    expect(heard).toEqual([1, 2]);
    stop?.();
    client.publish(subject, Ping, { type: 'PING', n: 3 });
    await client.flush();
    await server.flush();
    expect(heard).toEqual([1, 2]);
  });

  it('runs what a handler leaves for after its reply once the reply is encoded, on errors too', async () => {
    const server = await nats.bus();
    const client = await nats.bus();
    const subject = `${nats.prefix}.after`;
    let after = 0;
    server.serve(subject, Ping, (m, ctx) => {
      const lent = new Uint8Array([1, 2, 3]);
      // Overwriting the lent bytes before the reply was encoded would show in the answer.
      ctx.afterReply?.(() => {
        lent.fill(0);
        after++;
      });
      if (m.n < 0) throw new Error('no');
      return { lent };
    });
    await server.flush();
    const Lent = z.object({ lent: z.instanceof(Uint8Array) });
    const r = await client.request(subject, Ping, { type: 'PING', n: 1 }, Lent);
    expect([...r.lent]).toEqual([1, 2, 3]);
    expect(after).toBe(1);
    await expect(client.request(subject, Ping, { type: 'PING', n: -1 }, Lent)).rejects.toBeInstanceOf(
      RemoteError,
    );
    expect(after).toBe(2);
  });

  it('answers malformed, mistyped and oversize requests with typed errors and keeps serving', async () => {
    const server = await nats.bus();
    const client = await nats.bus();
    const subject = `${nats.prefix}.guarded`;
    let handled = 0;
    server.serve(subject, Ping, (m) => {
      handled++;
      return m.n;
    });
    await server.flush();
    const raw = async (payload: Uint8Array) => {
      const reply = await client.nc.request(subject, payload, { timeout: 2000 });
      return (await import('../../bus/index.js')).decode(reply.data) as {
        ok: boolean;
        error?: { code: string };
      };
    };
    expect((await raw(new Uint8Array([0xc1, 0xff, 0x00]))).error?.code).toBe('BAD_REQUEST');
    expect((await raw(encode({ type: 'NOPE' }))).error?.code).toBe('BAD_REQUEST');
    expect((await raw(encode({ type: 'PING', n: 'x' }))).error?.code).toBe('BAD_REQUEST');
    expect((await raw(new Uint8Array(5 * 1024 * 1024))).error?.code).toBe('TOO_LARGE');
    expect(handled).toBe(0);
    await expect(client.request(subject, Ping, { type: 'PING', n: 3 }, z.number())).resolves.toBe(3);
  });

  it('checks a call before sending it unless asked not to, and the server checks it either way', async () => {
    const server = await nats.bus();
    const client = await nats.bus();
    const subject = `${nats.prefix}.unchecked`;
    let handled = 0;
    server.serve(subject, Ping, (m) => {
      handled++;
      return m.n;
    });
    await server.flush();
    const bad = { type: 'PING', n: 1.5 } as unknown as z.input<typeof Ping>;
    // Checked (the default): refused before anything is sent.
    await expect(client.request(subject, Ping, bad, z.number())).rejects.not.toBeInstanceOf(RemoteError);
    // Unchecked: sent as is, and refused by the server's own validation.
    const err = await client.request(subject, Ping, bad, z.number(), { unchecked: true }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).code).toBe('BAD_REQUEST');
    expect(handled).toBe(0);
    await expect(
      client.request(subject, Ping, { type: 'PING', n: 4 }, z.number(), { unchecked: true }),
    ).resolves.toBe(4);
    expect(handled).toBe(1);
  });

  it('raises a RemoteError carrying the code the handler threw', async () => {
    const server = await nats.bus();
    const client = await nats.bus();
    const { BusError } = await import('../../bus/index.js');
    server.serve(`${nats.prefix}.fails`, Ping, () => {
      throw new BusError('no such thing', 'NOT_FOUND');
    });
    await server.flush();
    const err = await client
      .request(`${nats.prefix}.fails`, Ping, { type: 'PING', n: 1 }, z.unknown())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).code).toBe('NOT_FOUND');
  });
});
