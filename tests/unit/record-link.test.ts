import { describe, expect, it } from 'vitest';
import { LinkDecoder, LinkEncoder } from '../../bus/record-link.js';
import { AgentToMaster, resources as R } from '../../protocol/index.js';

/** A deterministic value of one of many shapes: objects whose key sets vary with `seed`. */
function shaped(seed: number): unknown {
  const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].filter((_, i) => (seed >> i) & 1);
  const o: Record<string, unknown> = {};
  for (const [i, k] of keys.entries()) {
    if (i % 4 === 0) o[k] = `s${seed}-${k}`;
    else if (i % 4 === 1) o[k] = seed * 0.5 - 3;
    else if (i % 4 === 2) o[k] = [seed % 2 === 0, null, { [`k${seed % 7}`]: seed }];
    else o[k] = { nested: { [k]: seed, list: [1, 2.25, 'x'] } };
  }
  return { seed, o, big: 2 ** 40 + seed };
}

describe('the record link between a worker and its parent', () => {
  it('decodes exactly what was encoded, across batches, as new shapes keep coming (past the shared slots)', () => {
    const enc = new LinkEncoder();
    const dec = new LinkDecoder();
    let structureUpdates = 0;
    // 256 key sets, far more than msgpackr's 32 shared structures; each value is sent several times.
    for (let batch = 0; batch < 64; batch++) {
      const values = Array.from({ length: 24 }, (_, i) => shaped((batch * 24 + i) % 256));
      const packed = values.map((v) => Uint8Array.from(enc.encode(v)));
      const structures = enc.takeStructures();
      if (structures) {
        structureUpdates++;
        dec.update(structures);
      }
      for (const [i, bytes] of packed.entries()) expect(dec.decode(bytes)).toEqual(values[i]);
    }
    expect(structureUpdates).toBeGreaterThan(0);
  });

  it('hands back a parsed REGISTER equal to what zod returned', () => {
    const parsed = AgentToMaster.parse({
      type: 'REGISTER',
      agent: { id: 'a-1', hostname: 'h', resources: R.parseResources('cpus:4;mem:1024'), version: '1' },
      tasks: [
        {
          frameworkId: 'f-1',
          task: {
            taskId: 't-1',
            name: 't',
            agentId: 'a-1',
            resources: R.parseResources('cpus:0.1'),
            command: { value: 'true' },
          },
          status: { taskId: 't-1', state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', timestamp: 1.5 },
        },
      ],
    });
    const enc = new LinkEncoder();
    const dec = new LinkDecoder();
    const bytes = Uint8Array.from(enc.encode(parsed));
    const structures = enc.takeStructures();
    if (structures) dec.update(structures);
    expect(dec.decode(bytes)).toEqual(parsed);
  });

  it('reports structures only when they changed', () => {
    const enc = new LinkEncoder();
    for (let i = 0; i < 10; i++) enc.encode({ x: i, y: 'same shape' });
    expect(enc.takeStructures()).toBeDefined();
    for (let i = 0; i < 10; i++) enc.encode({ x: i, y: 'same shape' });
    expect(enc.takeStructures()).toBeUndefined();
  });
});
