import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../bus/index.js';
import { FakeBus, StateStore, StateStoreError } from '../../frameworks/sdk/index.js';
import { startTestNats, type TestNats } from '../support/nats.js';

const Record = z.object({ name: z.string(), count: z.number().int() });

describe('StateStore on JetStream KV', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startTestNats();
  });
  afterAll(async () => {
    await nats.stop();
  });

  it('stores validated values, lists live keys by prefix, and forgets deleted ones', async () => {
    const store = await StateStore.open({ bus: await nats.bus(), bucket: 'store-test-1' });
    await store.put('service.web', Record, { name: 'web', count: 3 });
    await store.put('service.api', Record, { name: 'api', count: 1 });
    await store.put('job.x', Record, { name: 'x', count: 0 });
    expect(await store.get('service.web', Record)).toEqual({ name: 'web', count: 3 });
    expect(await store.keys('service.')).toEqual(['service.api', 'service.web']);
    await store.delete('service.api');
    expect(await store.keys('service.')).toEqual(['service.web']);
    expect(await store.get('service.api', Record)).toBeUndefined();
    expect(await store.keys()).toEqual(['job.x', 'service.web']);
    // A second opening sees the same bucket.
    const again = await StateStore.open({ bus: await nats.bus(), bucket: 'store-test-1' });
    expect(await again.get('job.x', Record)).toEqual({ name: 'x', count: 0 });
  });

  it('refuses a value that does not match its schema and writes nothing', async () => {
    const store = await StateStore.open({ bus: await nats.bus(), bucket: 'store-test-2' });
    await store.put('k', Record, { name: 'a', count: 1 });
    await expect(store.put('k', Record, { name: 'a', count: 1.5 })).rejects.toBeInstanceOf(ValidationError);
    expect(await store.get('k', Record)).toEqual({ name: 'a', count: 1 });
  });

  it('refuses a bus without JetStream and a bad bucket name', async () => {
    await expect(StateStore.open({ bus: new FakeBus(), bucket: 'x' })).rejects.toBeInstanceOf(
      StateStoreError,
    );
    await expect(StateStore.open({ bus: await nats.bus(), bucket: 'a.b' })).rejects.toThrow(
      /invalid bucket name "a.b"/,
    );
  });
});
