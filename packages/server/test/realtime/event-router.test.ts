import { parseChannelName, type ParsedChannel } from '@apix/protocol';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { MemoryBroker } from '../../src/engine/memory-broker.js';
import { createLogger } from '../../src/logging/logger.js';
import { ChannelSubscription } from '../../src/realtime/channel-subscription.js';
import { Connection } from '../../src/realtime/connection.js';
import { EventRouter } from '../../src/realtime/event-router.js';

/** A socket that records what is sent to it. Stands in for the peer, not for the router under test. */
function recordingSocket() {
  const sent: Array<string | Buffer> = [];
  const socket = { bufferedAmount: 0, send: (data: string | Buffer) => sent.push(data), close: () => undefined, terminate: () => undefined, on: () => socket };
  return { socket: socket as unknown as WebSocket, sent };
}

function connectionWith(sent = recordingSocket()) {
  const connection = new Connection(sent.socket, {
    maxSendBufferBytes: 1 << 20,
    remoteAddress: undefined,
    onClosed: () => undefined,
    onSlowConsumer: () => undefined,
    onTaskFailed: () => undefined,
  });
  return { connection, sent: sent.sent };
}

const channel = parseChannelName('agent:fan') as ParsedChannel;
const noBreak = () => undefined;
const retention = { historySize: 100, historyTtlMs: 60_000 };

describe('EventRouter', () => {
  it('encodes a publication once and hands the same bytes to every subscriber', async () => {
    const broker = new MemoryBroker();
    const router = new EventRouter(broker, createLogger('silent'));
    await broker.start(router);
    const peers = Array.from({ length: 5 }, () => connectionWith());
    for (const { connection } of peers) {
      const subscription = new ChannelSubscription(connection, channel, 'o/agent:fan', undefined, noBreak);
      await router.attach(subscription);
      subscription.goLive({ offset: 0, epoch: (await broker.history('o/agent:fan', { limit: 0 })).position.epoch }, []);
    }
    await broker.publish('o/agent:fan', '{"type":"note","payload":1,"metadata":{"timestamp":1,"version":"1"}}', retention);
    const frames = peers.map((p) => p.sent[0]);
    expect(frames.every((f) => f === frames[0])).toBe(true); // the very same Buffer, not equal copies
    expect(JSON.parse(frames[0]!.toString())).toMatchObject({ type: 'event', channel: 'agent:fan', offset: 1, event: { payload: 1 } });
    await broker.close();
  });

  it('subscribes the node at the broker while it has subscribers, and not after', async () => {
    const broker = new MemoryBroker();
    const router = new EventRouter(broker, createLogger('silent'));
    await broker.start(router);
    const { connection, sent } = connectionWith();
    const subscription = new ChannelSubscription(connection, channel, 'o/agent:fan', undefined, noBreak);
    await router.attach(subscription);
    subscription.goLive({ offset: 0, epoch: (await broker.history('o/agent:fan', { limit: 0 })).position.epoch }, []);
    router.detach(subscription);
    await new Promise((r) => setImmediate(r));
    await broker.publish('o/agent:fan', '{"type":"note","metadata":{"timestamp":1,"version":"1"}}', retention);
    expect(sent).toHaveLength(0);
    expect(router.channelCount).toBe(0);
    await broker.close();
  });
});

describe('ChannelSubscription', () => {
  const routed = (offset: number, epoch = 'e') => ({ offset, epoch, frame: Buffer.from(String(offset)), event: () => ({ type: 'note' }) });

  it('sends replay, then buffered live publications newer than it, each once, in order', () => {
    const { connection, sent } = connectionWith();
    const subscription = new ChannelSubscription(connection, channel, 'k', undefined, noBreak);
    // Live publications 5..8 arrive while history (3..6) is being read.
    for (const offset of [5, 6, 7, 8]) subscription.offer(routed(offset));
    subscription.goLive({ offset: 6, epoch: 'e' }, [routed(3), routed(4), routed(5), routed(6)]);
    subscription.offer(routed(8)); // a duplicate from the broker
    subscription.offer(routed(9));
    expect(sent.map(String)).toEqual(['3', '4', '5', '6', '7', '8', '9']);
  });

  it('without a replay starts after the position and drops older buffered publications', () => {
    const { connection, sent } = connectionWith();
    const subscription = new ChannelSubscription(connection, channel, 'k', undefined, noBreak);
    for (const offset of [9, 10, 11]) subscription.offer(routed(offset));
    subscription.goLive({ offset: 10, epoch: 'e' }, []);
    expect(sent.map(String)).toEqual(['11']);
  });

  it.each([
    ['a new epoch (the log was lost and restarted)', routed(1, 'f'), 'epoch-changed'],
    ['an offset gap (a lost notification)', routed(13), 'gap'],
  ])('never follows %s silently: it stops and asks for a resubscribe from its position', (_, next, reason) => {
    const { connection, sent } = connectionWith();
    const breaks: Array<{ reason: string; position: { offset: number; epoch: string } }> = [];
    const subscription = new ChannelSubscription(connection, channel, 'k', undefined, (s, why) => breaks.push({ reason: why, position: s.position }));
    subscription.goLive({ offset: 10, epoch: 'e' }, []);
    subscription.offer(routed(11));
    subscription.offer(next);
    subscription.offer(routed(12)); // nothing more after the break
    expect(sent.map(String)).toEqual(['11']);
    expect(breaks).toEqual([{ reason, position: { offset: 11, epoch: 'e' } }]);
    expect(subscription.state).toBe('closed');
  });

  it('applies filters after ordering, so filtered publications still advance the position', () => {
    const { connection, sent } = connectionWith();
    const subscription = new ChannelSubscription(connection, channel, 'k', { types: ['wanted'] }, noBreak);
    subscription.goLive({ offset: 0, epoch: 'e' }, []);
    subscription.offer({ ...routed(1), event: () => ({ type: 'unwanted' }) });
    subscription.offer({ ...routed(2), event: () => ({ type: 'wanted' }) });
    subscription.offer({ ...routed(1), event: () => ({ type: 'wanted' }) }); // replayed duplicate
    expect(sent.map(String)).toEqual(['2']);
  });
});
