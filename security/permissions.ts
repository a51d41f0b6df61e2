import { subjects as makeSubjects } from '../protocol/index.js';
import { inboxPrefix, type Principal, PrincipalKind } from './principal.js';

/** NatsPermissions is one user's `permissions` block in nats-server's configuration. */
export interface NatsPermissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
  /** Lets the user answer the requests it receives, whatever their reply subject. */
  allow_responses?: boolean;
}

/**
 * natsPermissions decides what a principal may publish and subscribe to under a subject prefix:
 * exactly its part of the protocol, with replies read only from its own inbox prefix.
 *
 * - master: everything (it serves every call and owns JetStream state);
 * - agent: speaks only as its own agent id, hears only its own subjects, relays its executors'
 *   output (executors connect with their agent's credentials);
 * - framework: calls only as its own framework ids, hears only their events and tasks' output;
 * - operator: its own read subject, its write subject unless read-only; a superuser also acts as
 *   any framework.
 */
export function natsPermissions(principal: Principal, prefix: string): NatsPermissions {
  const s = makeSubjects(prefix);
  const inbox = `${inboxPrefix(principal.name)}.>`;
  switch (principal.kind) {
    case PrincipalKind.MASTER:
      return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] }, allow_responses: true };
    case PrincipalKind.AGENT: {
      const a = principal.agentId;
      return {
        publish: {
          allow: [s.masterAgent(a), s.agentExecutors(a), `${prefix}.executor.${a}.*`, `${prefix}.output.*.*`],
        },
        // s.leader(): the leading master's announcements (HA), to re-register with a new leader.
        subscribe: { allow: [`${prefix}.agent.${a}.>`, `${prefix}.executor.${a}.*`, s.leader(), inbox] },
        allow_responses: true,
      };
    }
    case PrincipalKind.FRAMEWORK:
      return {
        publish: { allow: principal.frameworkIds.map((f) => s.scheduler(f)) },
        subscribe: {
          allow: [
            ...principal.frameworkIds.flatMap((f) => [s.frameworkEvents(f), `${prefix}.output.${f}.*`]),
            s.leader(),
            inbox,
          ],
        },
      };
    case PrincipalKind.OPERATOR: {
      const publish = [s.operatorRead(principal.name)];
      const subscribe = [inbox];
      // The built-in frameworks' apps API (mezzo apply/get/describe...), for operators who may write.
      if (!principal.readonly) publish.push(s.operatorWrite(principal.name), `${prefix}.apps.*`);
      if (principal.superuser && !principal.readonly) {
        publish.push(s.schedulerAll());
        subscribe.push(`${prefix}.framework.*.events`, `${prefix}.output.*.*`, s.leader());
      }
      return { publish: { allow: publish }, subscribe: { allow: subscribe } };
    }
  }
}
