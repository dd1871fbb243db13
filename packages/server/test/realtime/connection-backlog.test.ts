import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { BroadcastDelivery } from '../../src/realtime/broadcast-delivery.js';
import type { RoutedPublication } from '../../src/realtime/channel-subscription.js';
import { Connection, SOCKET_HIGH_WATER_BYTES } from '../../src/realtime/connection.js';

/**
 * A peer whose socket buffer the test controls: `bufferedAmount` is what the socket holds,
 * and the callback of a write fires when the test "drains" it. It stands in for the network,
 * not for the Connection under test.
 */
function slowPeer() {
  const wire: string[] = [];
  const callbacks: Array<() => void> = [];
  let closedWith: number | undefined;
  const socket = {
    bufferedAmount: 0,
    send(data: string | Buffer, _options: unknown, cb?: () => void) {
      wire.push(String(data));
      socket.bufferedAmount += data.length;
      if (cb) callbacks.push(cb);
    },
    close(code: number) {
      closedWith = code;
      wire.push(`close:${code}`);
    },
    terminate: () => undefined,
    on: () => socket,
  };
  const drain = () => {
    socket.bufferedAmount = 0;
    for (const cb of callbacks.splice(0)) cb();
  };
  return { socket, wire, drain, closedWith: () => closedWith };
}

function connectionOn(peer: ReturnType<typeof slowPeer>, maxSendBufferBytes: number) {
  const connection: Connection = new Connection(peer.socket as unknown as WebSocket, {
    maxSendBufferBytes,
    remoteAddress: undefined,
    onClosed: () => undefined,
    onSlowConsumer: (c) => c.close(4004, 'slow consumer'),
    onTaskFailed: () => undefined,
  });
  return connection;
}

const frame = (i: number) => `${i}`.padStart(16 * 1024, '.');

describe('Connection send backlog', () => {
  it('hands the socket at most the high-water mark; the rest waits, in order, until the socket drains', () => {
    const peer = slowPeer();
    const connection = connectionOn(peer, 1 << 20);
    for (let i = 0; i < 10; i++) connection.sendRaw(frame(i));
    const handed = peer.wire.length;
    expect(peer.socket.bufferedAmount).toBeLessThanOrEqual(SOCKET_HIGH_WATER_BYTES + 16 * 1024);
    expect(handed).toBeLessThan(10);
    peer.drain();
    peer.drain();
    peer.drain();
    expect(peer.wire.map((f) => Number(f.replace(/^\.+/, '')))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('closes a consumer past its cap with 4004 sent right behind what the socket already has, dropping the backlog', () => {
    const peer = slowPeer();
    const connection = connectionOn(peer, 256 * 1024);
    for (let i = 0; i < 100 && !connection.closed; i++) connection.sendRaw(frame(i));
    expect(peer.closedWith()).toBe(4004);
    // Nothing of the backlog went out before (or after) the close frame.
    expect(peer.wire.at(-1)).toBe('close:4004');
    expect(peer.wire.length - 1).toBeLessThanOrEqual(Math.ceil(SOCKET_HIGH_WATER_BYTES / (16 * 1024)) + 1);
    peer.drain();
    expect(peer.wire.at(-1)).toBe('close:4004');
  });

  it('paces a replay by the drains: 10 MiB of history under a 1 MiB cap is never slow consumption, and live events follow it in order (ADR 0045)', () => {
    const peer = slowPeer();
    const connection = connectionOn(peer, 1 << 20);
    const publication = (offset: number): RoutedPublication => ({ offset, epoch: 'e', frame: Buffer.from(frame(offset)), event: () => ({ type: 'note' }) });
    const delivery = new BroadcastDelivery(connection, undefined, () => {
      throw new Error('no break expected');
    });
    const replay = Array.from({ length: 640 }, (_, i) => publication(i + 1)); // 640 × 16 KiB = 10 MiB
    delivery.goLive({ offset: 640, epoch: 'e' }, replay);
    expect(delivery.state).toBe('recovering');
    // Live publications during the replay wait for it (one overlaps the replay: sent once).
    for (let offset = 640; offset <= 650; offset++) delivery.offer(publication(offset));
    for (let i = 0; i < 1_000 && delivery.state === 'recovering'; i++) {
      // The replay never put more than the high-water mark (plus a frame) in front of the peer.
      expect(connection.pendingBytes).toBeLessThanOrEqual(SOCKET_HIGH_WATER_BYTES + 16 * 1024);
      peer.drain();
    }
    expect(delivery.state).toBe('live');
    // Live frames go to the backlog as ever; the socket takes them at its next drains.
    for (let i = 0; i < 10 && connection.backlogged; i++) peer.drain();
    expect(connection.closed).toBe(false);
    expect(peer.wire.map((f) => Number(f.replace(/^\.+/, '')))).toEqual(Array.from({ length: 650 }, (_, i) => i + 1));
  });
});
