import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { type AppKind, type AppSpec, KIND_PLURAL, SCHEMA_OF } from './spec.js';

/** SpecError is a spec that does not validate; `problems` are `services.web.instances: expected ...` lines. */
export class SpecError extends Error {
  override name = 'SpecError';
  constructor(
    readonly problems: string[],
    options?: { cause?: unknown },
  ) {
    super(problems.join('\n'), options);
  }
}

/** formatSpecIssues renders zod issues under a prefix such as `services.web`. */
export function formatSpecIssues(prefix: string, error: z.ZodError): string[] {
  return error.issues.slice(0, 20).flatMap((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${path}.${k}: unknown field`);
    return [`${path}: ${i.message}`];
  });
}

function locate(doc: unknown, index: number): { kind?: AppKind; prefix: string } {
  const d = (doc ?? {}) as { kind?: unknown; name?: unknown };
  const kind = typeof d.kind === 'string' && d.kind in SCHEMA_OF ? (d.kind as AppKind) : undefined;
  const name = typeof d.name === 'string' && d.name ? d.name : `[${index}]`;
  return { kind, prefix: kind ? `${KIND_PLURAL[kind]}.${name}` : `specs[${index}]` };
}

/** validateSpec checks one decoded document; `index` names it when it has no name. */
export function validateSpec(doc: unknown, index = 0): AppSpec {
  const { kind, prefix } = locate(doc, index);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new SpecError([`${prefix}: expected a mapping with kind and name`]);
  if (!kind)
    throw new SpecError([
      `${prefix}.kind: expected Service, Job or CronJob, got ${JSON.stringify((doc as { kind?: unknown }).kind ?? null)}`,
    ]);
  const r = SCHEMA_OF[kind].safeParse(doc);
  if (!r.success) throw new SpecError(formatSpecIssues(prefix, r.error), { cause: r.error });
  return r.data;
}

/**
 * parseSpecs reads a spec file: JSON (one object or a list) or YAML (one or more documents
 * separated by `---`). Every problem of every document is reported at once; nothing is returned
 * unless all are valid, and two specs of the same kind and name are refused.
 */
export function parseSpecs(text: string): AppSpec[] {
  let docs: unknown[];
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const v = JSON.parse(trimmed) as unknown;
      docs = Array.isArray(v) ? v : [v];
    } catch (err) {
      throw new SpecError([`(file): invalid JSON: ${(err as Error).message}`], { cause: err });
    }
  } else {
    const parsed = parseAllDocuments(text);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    const syntax = list.flatMap((d) =>
      d.errors.map((e) => `(file): invalid YAML: ${e.message.split('\n')[0]}`),
    );
    if (syntax.length) throw new SpecError(syntax);
    docs = list.map((d) => d.toJS() as unknown).filter((d) => d !== null && d !== undefined);
  }
  if (docs.length === 0) throw new SpecError(['(file): no spec found']);
  const problems: string[] = [];
  const specs: AppSpec[] = [];
  docs.forEach((doc, i) => {
    try {
      specs.push(validateSpec(doc, i));
    } catch (err) {
      if (err instanceof SpecError) problems.push(...err.problems);
      else throw err;
    }
  });
  const seen = new Set<string>();
  for (const s of specs) {
    const key = `${KIND_PLURAL[s.kind]}.${s.name}`;
    if (seen.has(key)) problems.push(`${key}: defined twice`);
    seen.add(key);
  }
  if (problems.length) throw new SpecError(problems);
  return specs;
}
