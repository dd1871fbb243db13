import { ErrorCodes } from '@apix/protocol';
import { describe, expect, it } from 'vitest';
import type { SubscribedContext, SubscribingContext, SubscriptionErrorContext, UnsubscribedContext } from '../src/index.js';
import { eventually } from './helpers/eventually.js';
import { pause, useHarness } from './helpers/harness.js';

const h = useHarness();

function errorBody(key: keyof typeof ErrorCodes): { code: string; message: string; retryable: boolean } {
  const def = ErrorCodes[key];
  return { code: def.code, message: def.message, retryable: def.retryable };
}

/** A client subscribed to agent:a that has delivered offsets 1 and 2, and what its subscription reported. */
async function subscribedWithTwoDelivered() {
  const server = h.server();
  const client = h.client();
  const offsets: number[] = [];
  const subscribing: SubscribingContext[] = [];
  const subscribed: SubscribedContext[] = [];
  const unsubscribed: UnsubscribedContext[] = [];
  const errors: SubscriptionErrorContext[] = [];
  const sub = client.subscribe('agent:a', {
    publication: (c) => offsets.push(c.offset),
    subscribing: (c) => subscribing.push(c),
    subscribed: (c) => subscribed.push(c),
    unsubscribed: (c) => unsubscribed.push(c),
    error: (c) => errors.push(c),
  });
  client.connect();
  await sub.ready(1000);
  server.append('agent:a', 'note', 1);
  server.append('agent:a', 'note', 2);
  await eventually(() => expect(offsets).toEqual([1, 2]));
  return { server, client, sub, offsets, subscribing, subscribed, unsubscribed, errors };
}

describe('a removal the server does not mean for good', () => {
  it.each([
    ['reason resubscribe', { reason: 'resubscribe' }],
    ['revoked with a retryable error (storage unavailable)', { reason: 'revoked', error: errorBody('UNAVAILABLE') }],
  ])('%s: resubscribes with since = the last position and reports recovered', async (_name, removal) => {
    const t = await subscribedWithTwoDelivered();
    const peer = t.server.lastPeer;
    peer.subscriptions.delete('agent:a');
    peer.send({ type: 'subscription.removed', channel: 'agent:a', ...removal });
    // Published while the subscription is off the server: the resume must bring it.
    t.server.append('agent:a', 'note', 3);
    await eventually(() => expect(t.subscribed).toHaveLength(2));
    expect(t.subscribing.at(-1)).toEqual({ channel: 'agent:a', reason: 'resubscribe' });
    const resubscribe = t.server.framesOf('subscribe').at(-1);
    expect(resubscribe).toMatchObject({ channels: ['agent:a'], since: { 'agent:a': { offset: 2, epoch: 'e1' } } });
    expect(t.subscribed.at(-1)).toMatchObject({ recovering: true, recovered: true });
    await eventually(() => expect(t.offsets).toEqual([1, 2, 3]));
    expect(t.unsubscribed).toEqual([]);
    expect(t.sub.state).toBe('subscribed');
    // Same connection throughout: only the subscription was redone.
    expect(t.server.peers).toHaveLength(1);
    if ('error' in removal) expect(t.errors.map((e) => e.error.code)).toEqual(['APIX_ERR_UNAVAILABLE']);
  });

  it('revoked with a non-retryable error is final: unsubscribed with that error, never sent again', async () => {
    const t = await subscribedWithTwoDelivered();
    t.server.lastPeer.send({ type: 'subscription.removed', channel: 'agent:a', reason: 'revoked', error: errorBody('CHANNEL_FORBIDDEN') });
    await eventually(() => expect(t.unsubscribed).toHaveLength(1));
    expect(t.unsubscribed[0]).toMatchObject({ reason: 'revoked', error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
    await pause(60); // several retry backoffs (base 5 ms)
    expect(t.server.framesOf('subscribe')).toHaveLength(1);
    expect(t.sub.state).toBe('unsubscribed');
  });
});
