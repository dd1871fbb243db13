import { CloseCodes } from '@apix/protocol';
import { describe, expect, it } from 'vitest';
import { ApiXClientError } from '../src/index.js';
import { eventually, nextEvent } from './helpers/eventually.js';
import { pause, useHarness } from './helpers/harness.js';

const h = useHarness();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('publish', () => {
  it('resolves with the stream position, and every publish carries an idempotency key', async () => {
    const client = h.client();
    client.connect();
    const result = await client.publish('agent:a', { type: 'agent_status_update', payload: { agentId: 'a', status: 'idle' } });
    expect(result).toEqual({ channel: 'agent:a', offset: 1, epoch: 'e1', duplicate: false });
    const [frame] = h.server().framesOf('publish');
    expect(frame?.idempotencyKey).toMatch(UUID);
    await client.publish('agent:a', { type: 'note', payload: 'x' }, { idempotencyKey: 'mine-1' });
    expect(h.server().framesOf('publish')[1]?.idempotencyKey).toBe('mine-1');
  });

  it('a publish in flight when the connection drops is re-sent after reconnect with the same key: appended once', async () => {
    const server = h.server();
    let dropFirst = true;
    server.hook = (peer, frame) => {
      if (frame.type !== 'publish' || !dropFirst) return false;
      dropFirst = false;
      // The append happens, but the connection dies before the reply leaves the server.
      const position = server.append(frame.channel, frame.event.type, frame.event.payload);
      if (frame.idempotencyKey) server.idempotency.set(frame.idempotencyKey, { channel: frame.channel, ...position });
      peer.close(CloseCodes.SERVER_SHUTDOWN, 'deploy');
      return true;
    };
    const client = h.client();
    client.connect();
    await client.ready(1000);
    const result = await client.publish('agent:a', { type: 'note', payload: 'once' });
    const frames = server.framesOf('publish');
    expect(frames).toHaveLength(2);
    expect(frames.map((f) => f.peer)).toEqual([0, 1]);
    expect(frames[1]?.idempotencyKey).toBe(frames[0]?.idempotencyKey);
    expect(server.log('agent:a').publications).toHaveLength(1);
    expect(result).toEqual({ channel: 'agent:a', offset: 1, epoch: 'e1', duplicate: true });
  });

  it('a publish made before the connection is up waits for it instead of failing', async () => {
    const client = h.client();
    const pending = client.publish('agent:a', { type: 'note', payload: 1 });
    await pause(20);
    expect(h.server().framesOf('publish')).toHaveLength(0);
    client.connect();
    await expect(pending).resolves.toMatchObject({ offset: 1 });
  });

  it('a publish made while reconnecting waits for the new connection', async () => {
    const server = h.server();
    const client = h.client();
    client.connect();
    await client.ready(1000);
    const disconnected = nextEvent((l) => client.on('disconnected', l));
    server.lastPeer.close(CloseCodes.SERVER_SHUTDOWN, 'deploy');
    await disconnected; // the reconnect timer has not fired yet: it is a later task
    expect(client.state).toBe('disconnected');
    const result = await client.publish('agent:a', { type: 'note', payload: 1 });
    expect(result.offset).toBe(1);
    expect(server.framesOf('publish').map((f) => f.peer)).toEqual([1]);
  });

  it('after a reconnect the resubscribe goes out before the publishes that waited', async () => {
    const server = h.server();
    const client = h.client();
    const sub = client.subscribe('agent:a');
    client.connect();
    await sub.ready(1000);
    const disconnected = nextEvent((l) => client.on('disconnected', l));
    server.lastPeer.close(CloseCodes.SERVER_SHUTDOWN, 'deploy');
    await disconnected;
    await client.publish('agent:a', { type: 'note', payload: 'while away' });
    const onSecond = server.received.filter((r) => r.peer === 1).map((r) => r.frame.type);
    expect(onSecond).toEqual(['connect', 'subscribe', 'publish']);
  });

  it('waiting is bounded: APIX_ERR_TIMEOUT, with the key to retry safely', async () => {
    const client = h.client();
    const error = await client.publish('agent:a', { type: 'note', payload: 1 }, { timeoutMs: 30, idempotencyKey: 'k-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiXClientError);
    expect(error).toMatchObject({ code: 'APIX_ERR_TIMEOUT', retryable: true, details: { idempotencyKey: 'k-1', channel: 'agent:a' } });
  });

  it('a server error reply rejects with its code and retryable flag', async () => {
    const server = h.server();
    server.hook = (peer, frame) => {
      if (frame.type !== 'publish') return false;
      server.replyError(peer, frame.id, 'RATE_LIMITED');
      return true;
    };
    const client = h.client();
    client.connect();
    await expect(client.publish('agent:a', { type: 'note', payload: 1 })).rejects.toMatchObject({ code: 'APIX_ERR_RATE_LIMITED', retryable: true });
  });

  it.each([
    ['a malformed channel', 'agent:no spaces', { type: 'note', payload: 1 }, 'APIX_ERR_CHANNEL_INVALID'],
    ['a reserved protocol event type', 'agent:a', { type: 'heartbeat.ping', payload: 1 }, 'APIX_ERR_EVENT_TYPE_RESERVED'],
    ['a malformed event type', 'agent:a', { type: 'Not A Type', payload: 1 }, 'APIX_ERR_INVALID_REQUEST'],
  ])('refuses %s before sending', async (_name, channel, event, code) => {
    const client = h.client();
    client.connect();
    await client.ready(1000);
    await expect(client.publish(channel, event as { type: string; payload: unknown })).rejects.toMatchObject({ code });
    expect(h.server().framesOf('publish')).toHaveLength(0);
  });

  it('disconnect() fails publishes in flight with APIX_ERR_CLIENT_CLOSED', async () => {
    const server = h.server();
    server.hook = (_peer, frame) => frame.type === 'publish'; // never answered
    const client = h.client();
    client.connect();
    await client.ready(1000);
    const pending = client.publish('agent:a', { type: 'note', payload: 1 });
    await eventually(() => expect(server.framesOf('publish')).toHaveLength(1));
    client.disconnect();
    await expect(pending).rejects.toMatchObject({ code: 'APIX_ERR_CLIENT_CLOSED' });
  });
});

describe('history', () => {
  it('reads stored publications after a position', async () => {
    const server = h.server();
    for (let i = 1; i <= 3; i++) server.append('agent:a', 'note', i);
    const client = h.client();
    client.connect();
    const history = await client.history('agent:a', { since: { offset: 1, epoch: 'e1' }, limit: 10 });
    expect(history).toMatchObject({ channel: 'agent:a', epoch: 'e1', complete: true, position: { offset: 3, epoch: 'e1' } });
    expect(history.publications.map((p) => p.offset)).toEqual([2, 3]);
    expect(server.framesOf('history')[0]).toMatchObject({ since: { offset: 1, epoch: 'e1' }, limit: 10 });
  });
});
