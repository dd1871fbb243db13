import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { CloseCodes } from '@apix/protocol';
import { userPrincipal } from '../../src/identity/principal.js';
import { createLogger } from '../../src/logging/logger.js';
import { Connection } from '../../src/realtime/connection.js';
import { ConnectionManager } from '../../src/realtime/connection-manager.js';
import { monotonicNow } from '../../src/support/monotonic-clock.js';

/**
 * Housekeeping (handshake deadlines, pings, dead peers, token expiry) driven with explicit
 * times through `sweep(now, wallNow)`. The connections are real, over a socket stand-in that
 * records pings and closes; the manager's own timer is far slower than the test.
 */
function peer() {
  const events: string[] = [];
  const socket = {
    bufferedAmount: 0,
    send: () => undefined,
    ping: () => events.push('ping'),
    close: (code: number) => events.push(`close:${code}`),
    terminate: () => undefined,
    on: () => socket,
  };
  return { socket, events };
}

let manager: ConnectionManager | undefined;
afterEach(() => manager?.stop());

/** A real Connection over `socket`, released from the manager when it closes. */
function connectionOver(m: ConnectionManager, socket: object): Connection {
  return new Connection(socket as unknown as WebSocket, {
    maxSendBufferBytes: 1 << 20,
    remoteAddress: undefined,
    onClosed: (c) => m.remove(c),
    onSlowConsumer: () => undefined,
    onTaskFailed: () => undefined,
    onBacklogChanged: (c, on) => m.backlogChanged(c, on),
  });
}

function open(m: ConnectionManager, now: number, options: { authenticated: boolean; expiresAt?: number }) {
  const { socket, events } = peer();
  const connection = connectionOver(m, socket);
  connection.handshakeDeadline = now + 5_000;
  m.add(connection);
  if (options.authenticated) {
    connection.principal = userPrincipal({ userId: 'u', organizationId: 'o', roles: [], expiresAt: options.expiresAt ?? Date.now() + 3_600_000 });
    m.authenticated(connection);
  }
  return { connection, events };
}

const settings = { pingIntervalMs: 10_000, pongTimeoutMs: 5_000, tokenExpiryGraceMs: 0 };

describe('ConnectionManager housekeeping', () => {
  it('a tick visits only connections whose deadline came: none of 1,000 quiet ones between pings', () => {
    manager = new ConnectionManager(settings, createLogger('silent'));
    const m = manager;
    const t0 = monotonicNow() + 60_000; // well past a first ping interval since the clock's origin
    const wall = Date.now();
    let visits = 0;
    const all = Array.from({ length: 1_000 }, () => {
      const opened = open(m, t0, { authenticated: true });
      // Every look at a connection starts by asking whether it is closed.
      Object.defineProperty(opened.connection, 'closed', { get: () => (visits++, false) });
      return opened;
    });
    // Deadlines come out at the next tick slot (1 s here): at most a tick late, never early.
    m.sweep(t0 + 1_100, wall + 1_100); // first pings go out
    expect(all.every((c) => c.events.filter((e) => e === 'ping').length === 1)).toBe(true);
    for (const c of all) c.connection.awaitingPongSince = 0; // every peer answered
    m.sweep(t0 + 7_200, wall + 7_200); // the pong-deadline visit finds them answered
    visits = 0;
    for (let t = 7_300; t < 11_000; t += 100) m.sweep(t0 + t, wall + t);
    expect(visits).toBe(0);
    m.sweep(t0 + 12_200, wall + 12_200); // the next ping is due
    expect(all.every((c) => c.events.filter((e) => e === 'ping').length === 2)).toBe(true);
  });

  it('closes a peer that does not answer a ping within the pong timeout with 4002, and keeps one that does', () => {
    manager = new ConnectionManager(settings, createLogger('silent'));
    const t0 = monotonicNow() + 60_000; // well past a first ping interval since the clock's origin
    const wall = Date.now();
    const silent = open(manager, t0, { authenticated: true });
    const healthy = open(manager, t0, { authenticated: true });
    manager.sweep(t0 + 1_100, wall + 1_100);
    expect(silent.events).toContain('ping');
    healthy.connection.awaitingPongSince = 0;
    manager.sweep(t0 + 5_000, wall + 5_000);
    expect(silent.events).not.toContain(`close:${CloseCodes.DEAD_PEER}`);
    manager.sweep(t0 + 7_200, wall + 7_200);
    expect(silent.events).toContain(`close:${CloseCodes.DEAD_PEER}`);
    expect(healthy.events.some((e) => e.startsWith('close'))).toBe(false);
  });

  it('closes a connection without a connect frame at its handshake deadline, and one whose token expired', () => {
    manager = new ConnectionManager(settings, createLogger('silent'));
    const t0 = monotonicNow() + 60_000; // well past a first ping interval since the clock's origin
    const wall = Date.now();
    const anonymous = open(manager, t0, { authenticated: false });
    const expiring = open(manager, t0, { authenticated: true, expiresAt: wall + 3_000 });
    manager.sweep(t0 + 2_000, wall + 2_000);
    expect(anonymous.events.some((e) => e.startsWith('close'))).toBe(false);
    expect(expiring.events.some((e) => e.startsWith('close'))).toBe(false);
    manager.sweep(t0 + 4_100, wall + 4_100);
    expect(expiring.events).toContain(`close:${CloseCodes.TOKEN_EXPIRED}`);
    expect(anonymous.events.some((e) => e.startsWith('close'))).toBe(false);
    manager.sweep(t0 + 6_100, wall + 6_100);
    expect(anonymous.events).toContain(`close:${CloseCodes.HANDSHAKE_TIMEOUT}`);
  });
});

describe('ConnectionManager send-buffer watch', () => {
  it('lists the unsent bytes of connections in backlog mode only, and forgets them when they drain', () => {
    manager = new ConnectionManager(settings, createLogger('silent'));
    const m = manager;
    const callbacks: Array<() => void> = [];
    const socket = {
      bufferedAmount: 0,
      send(data: string, _options: unknown, cb?: () => void) {
        socket.bufferedAmount += data.length;
        if (cb) callbacks.push(cb);
      },
      close: () => undefined,
      terminate: () => undefined,
      on: () => socket,
    };
    const connection = connectionOver(m, socket);
    m.add(connection);
    open(m, monotonicNow(), { authenticated: true }); // a quiet neighbour
    expect([...m.backloggedPendingBytes()]).toEqual([]);
    for (let i = 0; i < 10; i++) connection.sendRaw('x'.repeat(16 * 1024));
    expect([...m.backloggedPendingBytes()]).toEqual([connection.pendingBytes]);
    expect(connection.pendingBytes).toBeGreaterThan(64 * 1024);
    // The peer reads everything: the socket drains, the backlog goes out and empties.
    while (callbacks.length > 0) {
      socket.bufferedAmount = 0;
      for (const cb of callbacks.splice(0)) cb();
    }
    expect(connection.backlogged).toBe(false);
    expect([...m.backloggedPendingBytes()]).toEqual([]);
  });
});
