import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { ChannelName } from '@apix/protocol';
import { MemorySessionStore } from '../../src/engine/session-store-memory.js';
import type { SessionOwner, SessionUpdate } from '../../src/engine/session-store.js';
import { userPrincipal } from '../../src/identity/principal.js';
import { SessionTokens } from '../../src/identity/session-token.js';
import { createLogger } from '../../src/logging/logger.js';
import type { ChannelSubscription } from '../../src/realtime/channel-subscription.js';
import { Connection } from '../../src/realtime/connection.js';
import { SessionKeeper } from '../../src/realtime/session-keeper.js';

/**
 * The session keeper's tick must cost what changed, not what exists (design rule: no periodic
 * sweep over every subscription). It used to compare every live subscription's position with
 * the one last written, every second, for every connection. The store is real (memory); the
 * connections are real, over a socket stand-in that accepts every frame; subscriptions are
 * stand-ins exposing the position the keeper reads.
 */

/** A store that counts the writes it gets. */
class CountingStore extends MemorySessionStore {
  saves = 0;
  override async save(owner: SessionOwner, update: SessionUpdate, ttlMs: number): Promise<boolean> {
    this.saves++;
    return super.save(owner, update, ttlMs);
  }
}

const socket = { bufferedAmount: 0, send: () => undefined, close: () => undefined, terminate: () => undefined, on: () => socket };

let keeper: SessionKeeper | undefined;
afterEach(async () => {
  await keeper?.close();
  keeper = undefined;
});

describe('SessionKeeper tick cost', () => {
  it('visits only sessions whose positions or subscriptions changed; a quiet tick reads no subscription and writes nothing', async () => {
    const store = new CountingStore({ maxPerOrganization: 10_000 });
    // A long flush interval: the test drives the ticks itself.
    keeper = new SessionKeeper(store, new SessionTokens(Buffer.alloc(32, 7), 600_000), { ttlMs: 600_000, flushIntervalMs: 3_600_000 }, createLogger('silent'));
    const sessions = keeper;
    let subscriptionReads = 0;
    const connections = Array.from({ length: 200 }, (_, i) => {
      const connection = new Connection(socket as unknown as WebSocket, {
        maxSendBufferBytes: 1 << 20,
        remoteAddress: undefined,
        onClosed: () => undefined,
        onSlowConsumer: () => undefined,
        onTaskFailed: () => undefined,
        onPositionsMoved: (c) => sessions.positionsMoved(c),
      });
      const subscription = { position: { offset: 1, epoch: 'e1' }, filters: undefined } as unknown as ChannelSubscription;
      connection.subscriptions.set(`user:${i}` as ChannelName, subscription);
      // Count every read of the connection's subscriptions (iteration or lookup).
      const map = connection.subscriptions;
      const iterate = map[Symbol.iterator].bind(map);
      const get = map.get.bind(map);
      map[Symbol.iterator] = () => (subscriptionReads++, iterate());
      map.get = (key) => (subscriptionReads++, get(key));
      sessions.start(connection, userPrincipal({ userId: `u${i}`, organizationId: 'org1', roles: ['member'], expiresAt: Date.now() + 3_600_000 }));
      sessions.subscribed(connection, [`user:${i}` as ChannelName]);
      return { connection, subscription };
    });
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };
    await settle();
    sessions.flush(); // writes the 200 subscriptions
    await settle();
    sessions.flush(); // positions of connections that sent frames (none did)
    await settle();

    subscriptionReads = 0;
    const savesBefore = store.saves;
    for (let i = 0; i < 5; i++) sessions.flush();
    await settle();
    expect(subscriptionReads).toBe(0);
    expect(store.saves).toBe(savesBefore);

    // One connection is sent an event (its position moves): the next tick looks at it alone.
    const moved = connections[17]!;
    (moved.subscription as unknown as { position: { offset: number; epoch: string } }).position = { offset: 2, epoch: 'e1' };
    moved.connection.sendRaw('{"type":"event"}');
    sessions.flush();
    await settle();
    expect(store.saves).toBe(savesBefore + 1);
    expect(subscriptionReads).toBeLessThanOrEqual(2);
    const claimed = await store.claim({ sessionId: moved.connection.sessionId, organizationId: 'org1', userId: 'u17', owner: 'next' }, 600_000);
    expect(claimed.kind === 'claimed' && claimed.subscriptions.get('user:17' as ChannelName)?.position).toEqual({ offset: 2, epoch: 'e1' });
  });
});
