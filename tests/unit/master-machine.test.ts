import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { defaultMasterConfig } from '../../actors/master/config.js';
import type { Effect } from '../../actors/master/effects.js';
import { masterMachine, type Replier } from '../../actors/master/machine.js';
import { createMasterState } from '../../actors/master/state.js';
import { FrameworkInfo, resources as R } from '../../protocol/index.js';

function start() {
  const delivered: Effect[] = [];
  const state = createMasterState(defaultMasterConfig({ masterId: 'm-machine' }), 0);
  const actor = createActor(
    masterMachine.provide({ actions: { deliver: (_, p) => void delivered.push(...p.effects) } }),
    {
      input: { state },
    },
  ).start();
  const replies: { ok: boolean; value: unknown }[] = [];
  const reply: Replier = {
    resolve: (value) => replies.push({ ok: true, value }),
    reject: (value) => replies.push({ ok: false, value }),
  };
  return { actor, delivered, replies, reply, state };
}

describe('the master actor', () => {
  it('answers a call through its replier and hands the effects to the injected deliver action', () => {
    const m = start();
    m.actor.send({
      type: 'SCHEDULER_CALL',
      now: 1,
      frameworkId: 'f1',
      call: { type: 'SUBSCRIBE', framework: FrameworkInfo.parse({ id: 'f1', name: 'f' }) },
      reply: m.reply,
    });
    expect(m.replies).toMatchObject([{ ok: true, value: { frameworkId: 'f1', masterId: 'm-machine' } }]);
    expect(m.delivered).toEqual([{ kind: 'allocate' }]);
  });

  it('rejects a bad call through the replier, delivers nothing and keeps running', () => {
    const m = start();
    m.actor.send({
      type: 'SCHEDULER_CALL',
      now: 1,
      frameworkId: 'f1',
      call: { type: 'REVIVE' },
      reply: m.reply,
    });
    expect(m.replies[0].ok).toBe(false);
    expect(m.delivered).toEqual([]);
    expect(m.actor.getSnapshot().value).toBe('leading');
  });

  it('turns an ALLOCATE event into OFFERS for the subscribed framework', () => {
    const m = start();
    const agent = {
      id: 'a1',
      hostname: 'h',
      resources: R.parseResources('cpus:1;mem:128'),
      attributes: {},
      version: '0',
    };
    m.actor.send({
      type: 'AGENT_MESSAGE',
      now: 1,
      agentId: 'a1',
      msg: { type: 'REGISTER', agent, tasks: [], frameworks: [] },
      reply: m.reply,
    });
    m.actor.send({
      type: 'SCHEDULER_CALL',
      now: 1,
      frameworkId: 'f1',
      call: { type: 'SUBSCRIBE', framework: FrameworkInfo.parse({ id: 'f1', name: 'f' }) },
      reply: m.reply,
    });
    m.actor.send({ type: 'ALLOCATE', now: 2 });
    expect(m.delivered.filter((e) => e.kind === 'framework')).toMatchObject([
      { frameworkId: 'f1', event: { type: 'OFFERS', offers: [{ agentId: 'a1' }] } },
    ]);
  });

  it('stops on STOP', () => {
    const m = start();
    m.actor.send({ type: 'STOP' });
    expect(m.actor.getSnapshot().status).toBe('done');
  });
});
