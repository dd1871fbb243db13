import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceCloser, PresenceManager } from '../../src/engine/presence.js';

export type TestPresence = PresenceManager & PresenceCloser;

/** Member TTL every implementation under test is created with. */
export const CONTRACT_PRESENCE_TTL_MS = 1_200;

const sortById = <T extends { clientId: string }>(members: T[]) => [...members].sort((a, b) => a.clientId.localeCompare(b.clientId));

/**
 * The PresenceManager contract, run over every implementation (memory, Redis, Redis Cluster).
 * `create` must build a manager whose member TTL is CONTRACT_PRESENCE_TTL_MS; `createPeer`
 * (optional) another manager sharing the same store, as another node would.
 */
export function describePresenceContract(name: string, create: () => Promise<TestPresence>): void {
  describe(`PresenceManager contract: ${name}`, () => {
    let presence: TestPresence;
    let n = 0;
    const key = () => `org${process.pid}/room:presence-${Date.now()}-${++n}`;

    beforeEach(async () => {
      presence = await create();
    });
    afterEach(() => presence.close());

    it('lists added members with their info, and counts clients and distinct users', async () => {
      const k = key();
      await presence.add(k, { clientId: 'c1', userId: 'alice', info: { name: 'Alice' } });
      await presence.add(k, { clientId: 'c2', userId: 'alice' });
      await presence.add(k, { clientId: 'c3', userId: 'bob' });
      expect(sortById(await presence.list(k))).toEqual([
        { clientId: 'c1', userId: 'alice', info: { name: 'Alice' } },
        { clientId: 'c2', userId: 'alice' },
        { clientId: 'c3', userId: 'bob' },
      ]);
      expect(await presence.stats(k)).toEqual({ clients: 3, users: 2 });
    });

    it('an empty or unknown channel has no members', async () => {
      expect(await presence.list(key())).toEqual([]);
      expect(await presence.stats(key())).toEqual({ clients: 0, users: 0 });
    });

    it('removes a member; removing an absent one is harmless', async () => {
      const k = key();
      await presence.add(k, { clientId: 'c1', userId: 'alice' });
      await presence.add(k, { clientId: 'c2', userId: 'bob' });
      await presence.remove(k, 'c1');
      await presence.remove(k, 'nobody');
      expect(await presence.list(k)).toEqual([{ clientId: 'c2', userId: 'bob' }]);
      expect(await presence.stats(k)).toEqual({ clients: 1, users: 1 });
    });

    it('adding again refreshes the member and replaces its info (one entry per client)', async () => {
      const k = key();
      await presence.add(k, { clientId: 'c1', userId: 'alice', info: { typing: false } });
      await presence.add(k, { clientId: 'c1', userId: 'alice', info: { typing: true } });
      expect(await presence.list(k)).toEqual([{ clientId: 'c1', userId: 'alice', info: { typing: true } }]);
    });

    it('keeps channels apart', async () => {
      const a = key();
      const b = key();
      await presence.add(a, { clientId: 'c1', userId: 'alice' });
      expect(await presence.list(b)).toEqual([]);
    });

    it('drops a member not refreshed within the TTL (a dead node leaves no ghost), keeps refreshed ones', async () => {
      const k = key();
      await presence.add(k, { clientId: 'ghost', userId: 'alice' });
      await presence.add(k, { clientId: 'alive', userId: 'bob' });
      // Refresh only 'alive', every quarter TTL (a loaded machine may be late: wide margin), until 'ghost' is past it.
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, CONTRACT_PRESENCE_TTL_MS / 4));
        await presence.add(k, { clientId: 'alive', userId: 'bob' });
      }
      expect(await presence.list(k)).toEqual([{ clientId: 'alive', userId: 'bob' }]);
      await new Promise((r) => setTimeout(r, CONTRACT_PRESENCE_TTL_MS * 2));
      expect(await presence.stats(k)).toEqual({ clients: 0, users: 0 });
    });
  });
}
