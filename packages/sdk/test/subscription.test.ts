import { CloseCodes } from '@apix/protocol';
import { describe, expect, it } from 'vitest';
import { isDomainEvent, type PublicationContext, type SubscribedContext, type SubscriptionState, type UnsubscribedContext } from '../src/index.js';
import { eventually, nextEvent } from './helpers/eventually.js';
import { pause, useHarness } from './helpers/harness.js';

const h = useHarness();

function collect(sub: { on: (e: 'publication', l: (c: PublicationContext) => void) => () => void }): PublicationContext[] {
  const seen: PublicationContext[] = [];
  sub.on('publication', (c) => seen.push(c));
  return seen;
}

describe('subscribing', () => {
  it('goes unsubscribed → subscribing → subscribed and delivers publications with typed payloads', async () => {
    const client = h.client();
    const sub = client.newSubscription('agent:a-1');
    const states: SubscriptionState[] = [];
    sub.on('state', (c) => states.push(c.current));
    const subscribed = nextEvent<SubscribedContext>((l) => sub.on('subscribed', l));
    const statuses: string[] = [];
    sub.onEvent('agent_status_update', (ctx) => statuses.push(ctx.event.payload.status));
    const seen = collect(sub);
    sub.subscribe();
    client.connect();
    await sub.ready(1000);
    expect(await subscribed).toMatchObject({ channel: 'agent:a-1', channelType: 'AGENT_EVENTS', recovering: false, recovered: false });
    h.server().append('agent:a-1', 'agent_status_update', { agentId: 'a-1', status: 'running' });
    await eventually(() => expect(seen).toHaveLength(1));
    const [first] = seen;
    expect(first).toMatchObject({ channel: 'agent:a-1', offset: 1, epoch: 'e1' });
    if (first && isDomainEvent(first.event, 'agent_status_update')) expect(first.event.payload.agentId).toBe('a-1');
    else expect.fail('expected an agent_status_update');
    expect(statuses).toEqual(['running']);
    expect(states).toEqual(['subscribing', 'subscribed']);
    expect(h.server().framesOf('subscribe')[0]).not.toHaveProperty('since');
  });

  it('client.subscribe(channel, handlers) creates, wires and subscribes in one call', async () => {
    const client = h.client();
    const seen: number[] = [];
    const sub = client.subscribe('tool:t-1', { publication: (c) => seen.push(c.offset) });
    client.connect();
    await sub.ready(1000);
    h.server().append('tool:t-1', 'tool_call_start', { toolCallId: 'x', toolName: 'search' });
    await eventually(() => expect(seen).toEqual([1]));
    expect(client.getSubscription('tool:t-1')).toBe(sub);
  });

  it('refuses a malformed channel and a second subscription to the same channel, before sending anything', () => {
    const client = h.client();
    expect(() => client.newSubscription('Agent:x')).toThrow(expect.objectContaining({ code: 'APIX_ERR_CHANNEL_INVALID' }));
    client.newSubscription('agent:x');
    expect(() => client.newSubscription('agent:x')).toThrow(expect.objectContaining({ code: 'APIX_ERR_ALREADY_SUBSCRIBED' }));
  });

  it('subscribe() calls in the same tick go out as one frame; different filters need separate frames', async () => {
    const client = h.client();
    client.connect();
    await client.ready(1000);
    client.newSubscription('agent:a').subscribe();
    client.newSubscription('agent:b').subscribe();
    client.newSubscription('agent:c', { filters: { types: ['tool_call_error'] } }).subscribe();
    await eventually(() => expect(client.subscriptions().every((s) => s.state === 'subscribed')).toBe(true));
    const frames = h.server().framesOf('subscribe');
    expect(frames.map((f) => f.channels)).toEqual([['agent:a', 'agent:b'], ['agent:c']]);
    expect(frames[1]?.filters).toEqual({ types: ['tool_call_error'] });
  });

  it('unsubscribe() stops publications at once and tells the server', async () => {
    const client = h.client();
    const sub = client.subscribe('agent:a');
    const seen = collect(sub);
    client.connect();
    await sub.ready(1000);
    const unsubscribed = nextEvent<UnsubscribedContext>((l) => sub.on('unsubscribed', l));
    sub.unsubscribe();
    expect(await unsubscribed).toEqual({ channel: 'agent:a', reason: 'client' });
    await eventually(() => expect(h.server().framesOf('unsubscribe').map((f) => f.channels)).toEqual([['agent:a']]));
    // An event already on the wire when we unsubscribed is not delivered.
    const log = h.server().log('agent:a');
    h.server().sendEvent(h.server().lastPeer, 'agent:a', log.epoch, { offset: 9, event: { type: 'x', payload: 1, metadata: { timestamp: 1, version: '1' } } });
    await pause(20);
    expect(seen).toEqual([]);
    expect(sub.state).toBe('unsubscribed');
  });
});

describe('resume after reconnect', () => {
  it('resubscribes every channel in one frame with since = last delivered position, and delivers each publication once', async () => {
    const server = h.server();
    const client = h.client();
    const a = client.subscribe('agent:a');
    const b = client.subscribe('agent:b');
    const seenA = collect(a);
    const seenB = collect(b);
    client.connect();
    await Promise.all([a.ready(1000), b.ready(1000)]);
    server.append('agent:a', 'x', 1);
    server.append('agent:a', 'x', 2);
    server.append('agent:b', 'x', 1);
    await eventually(() => expect(seenA.length + seenB.length).toBe(3));

    const resubscribed = nextEvent<SubscribedContext>((l) => a.on('subscribed', l));
    const aStates: SubscriptionState[] = [];
    a.on('state', (c) => aStates.push(c.current));
    // Offset 3 is appended but never reaches this connection (the slow consumer's buffer was
    // full), so only the resume can bring it.
    server.lastPeer.subscriptions.delete('agent:a');
    server.append('agent:a', 'x', 3);
    server.lastPeer.close(CloseCodes.SLOW_CONSUMER, 'slow');
    expect(await resubscribed).toMatchObject({ recovering: true, recovered: true });

    const frames = server.framesOf('subscribe');
    expect(frames).toHaveLength(2);
    expect(frames[1]).toMatchObject({
      peer: 1,
      channels: ['agent:a', 'agent:b'],
      since: { 'agent:a': { offset: 2, epoch: 'e1' }, 'agent:b': { offset: 1, epoch: 'e1' } },
    });
    await eventually(() => expect(seenA.map((p) => p.offset)).toEqual([1, 2, 3]));
    server.append('agent:b', 'x', 2);
    await eventually(() => expect(seenB.map((p) => p.offset)).toEqual([1, 2]));
    expect(aStates).toEqual(['subscribing', 'subscribed']);
    expect(a.position).toEqual({ offset: 3, epoch: 'e1' });
  });

  it('drops publications it already delivered (same epoch, offset ≤ last)', async () => {
    const server = h.server();
    const client = h.client();
    const sub = client.subscribe('agent:a');
    const seen = collect(sub);
    client.connect();
    await sub.ready(1000);
    server.append('agent:a', 'x', 1);
    server.append('agent:a', 'x', 2);
    await eventually(() => expect(seen).toHaveLength(2));
    // At-least-once on the wire: the server sends 1 and 2 again, then 3.
    const log = server.log('agent:a');
    for (const publication of log.publications) server.sendEvent(server.lastPeer, 'agent:a', log.epoch, publication);
    server.append('agent:a', 'x', 3);
    await eventually(() => expect(seen.map((p) => p.offset)).toEqual([1, 2, 3]));
    await pause(20);
    expect(seen.map((p) => p.offset)).toEqual([1, 2, 3]);
  });

  it('tells the application when the position is gone: epoch changed', async () => {
    const server = h.server();
    const client = h.client();
    const sub = client.newSubscription('agent:a', { since: { offset: 7, epoch: 'lost-epoch' } });
    const subscribed = nextEvent<SubscribedContext>((l) => sub.on('subscribed', l));
    const seen = collect(sub);
    sub.subscribe();
    client.connect();
    expect(await subscribed).toMatchObject({ recovering: true, recovered: false });
    expect(server.framesOf('subscribe')[0]?.since).toEqual({ 'agent:a': { offset: 7, epoch: 'lost-epoch' } });
    // The new epoch starts again at offset 1: it must not be taken for a duplicate of offset 7.
    server.append('agent:a', 'x', 'fresh');
    await eventually(() => expect(seen.map((p) => [p.epoch, p.offset])).toEqual([['e1', 1]]));
  });

  it('tells the application when the position is gone: trimmed, with how many were missed', async () => {
    const server = h.server();
    const log = server.log('agent:a');
    log.trimmedThrough = 10;
    const client = h.client();
    const sub = client.newSubscription('agent:a', { since: { offset: 3, epoch: 'e1' } });
    const subscribed = nextEvent<SubscribedContext>((l) => sub.on('subscribed', l));
    const seen = collect(sub);
    sub.subscribe();
    client.connect();
    expect(await subscribed).toMatchObject({ recovering: true, recovered: false, missed: 7 });
    server.append('agent:a', 'x', 'after the gap');
    await eventually(() => expect(seen.map((p) => p.offset)).toEqual([11]));
  });
});

describe('server-side refusals', () => {
  it('a revoked subscription becomes unsubscribed with the server’s error', async () => {
    const server = h.server();
    const client = h.client();
    const sub = client.subscribe('agent:a');
    client.connect();
    await sub.ready(1000);
    const unsubscribed = nextEvent<UnsubscribedContext>((l) => sub.on('unsubscribed', l));
    server.lastPeer.send({
      type: 'subscription.removed',
      channel: 'agent:a',
      reason: 'revoked',
      error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN', message: 'role removed', retryable: false },
    });
    expect(await unsubscribed).toMatchObject({ reason: 'revoked', error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
    expect(sub.state).toBe('unsubscribed');
  });

  it('one forbidden channel in a batch: the batch is retried channel by channel, so only that one fails', async () => {
    const server = h.server();
    server.hook = (peer, frame) => {
      if (frame.type !== 'subscribe' || !frame.channels.includes('agent:secret')) return false;
      server.replyError(peer, frame.id, 'CHANNEL_FORBIDDEN');
      return true;
    };
    const client = h.client();
    client.connect();
    await client.ready(1000);
    const open = client.subscribe('agent:open');
    const secret = client.subscribe('agent:secret');
    const refused = nextEvent<UnsubscribedContext>((l) => secret.on('unsubscribed', l));
    await open.ready(1000);
    expect(await refused).toMatchObject({ reason: 'error', error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
    expect(server.framesOf('subscribe').map((f) => f.channels)).toEqual([['agent:open', 'agent:secret'], ['agent:open'], ['agent:secret']]);
    await expect(secret.ready(100)).rejects.toMatchObject({ code: 'APIX_ERR_NOT_SUBSCRIBED' });
  });

  it('a temporary refusal (rate limited) is reported and retried; the subscription stays subscribing', async () => {
    const server = h.server();
    let refusals = 1;
    server.hook = (peer, frame) => {
      if (frame.type !== 'subscribe' || refusals === 0) return false;
      refusals -= 1;
      server.replyError(peer, frame.id, 'RATE_LIMITED');
      return true;
    };
    const client = h.client();
    const sub = client.subscribe('agent:a');
    const error = nextEvent((l) => sub.on('error', l));
    client.connect();
    expect(await error).toMatchObject({ channel: 'agent:a', error: { code: 'APIX_ERR_RATE_LIMITED', retryable: true } });
    expect(sub.state).toBe('subscribing');
    await sub.ready(1000);
    expect(server.framesOf('subscribe')).toHaveLength(2);
  });

  it('a subscribe with no reply makes the client reconnect, then it resubscribes', async () => {
    const server = h.server();
    let swallow = true;
    server.hook = (_peer, frame) => {
      if (frame.type !== 'subscribe' || !swallow) return false;
      swallow = false;
      return true;
    };
    const client = h.client({ requestTimeoutMs: 60 });
    const sub = client.subscribe('agent:a');
    client.connect();
    await sub.ready(1000);
    expect(server.peers).toHaveLength(2);
  });
});

describe('subscription readiness and the client lifecycle', () => {
  it('a subscribed subscription goes back to subscribing on a drop, and ready() fails when the client closes', async () => {
    const client = h.client();
    const sub = client.subscribe('agent:a');
    client.connect();
    await sub.ready(1000);
    client.disconnect();
    expect(sub.state).toBe('subscribing');
    await expect(sub.ready(1000)).rejects.toMatchObject({ code: 'APIX_ERR_CLIENT_CLOSED' });
    // connect() again brings it back without the application resubscribing.
    client.connect();
    await sub.ready(1000);
  });

  it('removeSubscription() unsubscribes and frees the channel name', async () => {
    const client = h.client();
    const sub = client.subscribe('agent:a');
    client.connect();
    await sub.ready(1000);
    client.removeSubscription(sub);
    expect(client.getSubscription('agent:a')).toBeUndefined();
    expect(() => sub.subscribe()).toThrow(/removed/);
    const again = client.subscribe('agent:a');
    await again.ready(1000);
  });
});
