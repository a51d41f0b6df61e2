import fc from 'fast-check';
import { encode } from '../../bus/index.js';

/**
 * Hostile inputs for the fuzz suite: arbitrary values and structurally mutated valid messages,
 * encoded as the bus encodes them, plus raw bytes and payloads over the size limit.
 */

/** CANARY is a file that a shell-looking string would create if anything ever ran it. */
export const CANARY = `/tmp/mezzo-fuzz-canary-${process.pid}`;

const SHELLISH = [
  `$(touch ${CANARY})`,
  `\`touch ${CANARY}\``,
  `; touch ${CANARY}`,
  `&& touch ${CANARY}`,
  `| touch ${CANARY}`,
  `\n touch ${CANARY}`,
];
const TRAVERSAL = [
  '..',
  '../..',
  '../../../etc/passwd',
  '/etc/shadow',
  'a/../../b',
  '..\\..\\x',
  './.',
  '%2e%2e%2f',
  '\u0000',
  'a.b.c',
  '*',
  '>',
  'a b',
];
const NUMBERS = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  -1,
  2 ** 53 + 2,
  -(2 ** 63),
  1e308,
  -1e308,
  4294967296,
  0.1,
];

/** nest wraps a value `depth` times in objects or arrays. */
function nest(value: unknown, depth: number, asArray: boolean): unknown {
  let v = value;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { nested: v };
  return v;
}

/** hostileValue is one value an attacker would try in a field. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.anything({ maxDepth: 3, maxKeys: 5 }) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(...SHELLISH, ...TRAVERSAL) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(...NUMBERS) },
  // Sizes straddle the protocol's limits (64 Ki command chars, 1024-10 000 list items) cheaply;
  // hostile-input.test.ts keeps the few far bigger payloads.
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 70_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 1500 }).map((d) => nest('deep', d, d % 2 === 0)) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 500, max: 12_000 }).map((n) => Array.from({ length: n }, () => 0)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(null, undefined, true, {}, [], '', { __proto__: { x: 1 } }),
  },
);

type Path = (string | number)[];

/** pathsOf lists every position in a value, the root included. */
function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) pathsOf(value[i], [...prefix, i], out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  }
  return out;
}

/** setAt returns a copy of `value` with the position `path` replaced (or deleted when `del`). */
function setAt(value: unknown, path: Path, next: unknown, del = false): unknown {
  if (path.length === 0) return next;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  if (rest.length === 0 && del) {
    if (Array.isArray(copy)) (copy as unknown[]).splice(head as number, 1);
    else delete copy[head];
  } else copy[head] = setAt(copy[head], rest, next, del);
  return copy;
}

/** mutated takes a valid message and breaks one place in it. */
export function mutated(seeds: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc
    .record({
      seed: fc.constantFrom(...seeds),
      pick: fc.nat(),
      how: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'add', 'repeat'),
      value: hostileValue,
      key: fc.string({ maxLength: 12 }),
    })
    .map(({ seed, pick, how, value, key }) => {
      const paths = pathsOf(seed);
      const path = paths[pick % paths.length];
      if (how === 'delete' && path.length) return setAt(seed, path, undefined, true);
      if (how === 'add') return setAt(seed, [...path, key], value);
      // Repeats a small value only: 5000 copies of a 200 kB string would test the test machine.
      if (how === 'repeat') {
        const small = typeof value === 'number' ? value : key;
        return setAt(
          seed,
          path,
          Array.from({ length: 5000 }, () => small),
        );
      }
      return setAt(seed, path, value);
    });
}

/** FuzzCase is one payload to send and what it is. */
export interface FuzzCase {
  kind: 'mutated' | 'arbitrary' | 'bytes' | 'oversize';
  payload: Uint8Array;
}

/**
 * fuzzCases draws `n` payloads for a subject from its valid `seeds`: mostly mutated messages,
 * then arbitrary values, random bytes and a few payloads over the 1 MB limit. Deterministic for
 * a seed, so a failure replays.
 */
export function fuzzCases(seeds: readonly unknown[], n: number, seed: number): FuzzCase[] {
  const arb: fc.Arbitrary<FuzzCase> = fc.oneof(
    {
      weight: 14,
      arbitrary: mutated(seeds).map((v) => ({ kind: 'mutated' as const, payload: safeEncode(v) })),
    },
    {
      weight: 3,
      arbitrary: hostileValue.map((v) => ({ kind: 'arbitrary' as const, payload: safeEncode(v) })),
    },
    {
      weight: 2,
      arbitrary: fc
        .uint8Array({ minLength: 0, maxLength: 512 })
        .map((b) => ({ kind: 'bytes' as const, payload: b })),
    },
  );
  const cases = fc.sample(arb, { numRuns: n, seed });
  // Oversize payloads are costly to send, so a fixed few, spread through the run.
  for (let i = 0; i < 5; i++) {
    cases[Math.floor((i * n) / 5)] = {
      kind: 'oversize',
      payload: new Uint8Array(1024 * 1024 + 1 + i).fill(0x91),
    };
  }
  return cases;
}

/** safeEncode encodes like the bus, falling back to raw bytes for what msgpack cannot write. */
function safeEncode(value: unknown): Uint8Array {
  try {
    return encode(value);
  } catch {
    return new TextEncoder().encode(String(value));
  }
}
