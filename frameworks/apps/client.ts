import type { z } from 'zod';
import type { Bus } from '../../bus/index.js';
import {
  ApplyResult,
  AppsCall,
  appsSubject,
  Done,
  LogsResult,
  listResult,
  VIEW_OF,
  type ViewOf,
} from './api.js';
import type { AppKind, AppSpecInput } from './spec.js';

/** AppsClient asks the built-in frameworks: what the CLI and the cron framework use. */
export class AppsClient {
  constructor(
    private readonly bus: Bus,
    private readonly prefix: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private ask<R extends z.ZodType>(kind: AppKind, call: AppsCall, result: R): Promise<z.infer<R>> {
    return this.bus.request(appsSubject(this.prefix, kind), AppsCall, call, result, {
      timeoutMs: this.timeoutMs,
    });
  }

  /** apply creates or updates the spec's app. */
  apply(spec: AppSpecInput): Promise<ApplyResult> {
    return this.ask(spec.kind, { type: 'APPLY', spec: spec as Record<string, unknown> }, ApplyResult);
  }

  list<K extends AppKind>(kind: K): Promise<ViewOf<K>[]> {
    return this.ask(kind, { type: 'LIST' }, listResult(kind)).then((r) => r.items as ViewOf<K>[]);
  }

  get<K extends AppKind>(kind: K, name: string): Promise<ViewOf<K>> {
    return this.ask(kind, { type: 'GET', name }, VIEW_OF[kind]) as Promise<ViewOf<K>>;
  }

  delete(kind: AppKind, name: string): Promise<Done> {
    return this.ask(kind, { type: 'DELETE', name }, Done);
  }

  scale(name: string, instances: number): Promise<Done> {
    return this.ask('Service', { type: 'SCALE', name, instances }, Done);
  }

  /** logs asks one kind's framework for the recent output of an app's tasks or of one task. */
  logs(kind: 'Service' | 'Job', name: string): Promise<LogsResult> {
    return this.ask(kind, { type: 'LOGS', name }, LogsResult);
  }

  restart(name: string): Promise<Done> {
    return this.ask('Service', { type: 'RESTART', name }, Done);
  }
}
