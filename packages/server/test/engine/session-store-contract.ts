import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SessionOwner, SessionStore, SessionUpdate } from '../../src/engine/session-store.js';

const update = (partial: Partial<SessionUpdate>): SessionUpdate => ({ subscribed: new Map(), positions: new Map(), unsubscribed: [], ...partial });

/**
 * The SessionStore contract (ADR 0040), run over every implementation. `create` builds a store
 * on fresh state; `peer` (optional) a second store on the same state, as another node.
 */
export function describeSessionStoreContract(name: string, create: () => Promise<SessionStore>, peer?: () => Promise<SessionStore>): void {
  describe(`SessionStore contract: ${name}`, () => {
    let store: SessionStore;
    let n = 0;
    const owner = (connection: string, fields: Partial<SessionOwner> = {}): SessionOwner => ({
      sessionId: `sess_${process.pid}_${Date.now()}_${n}`,
      organizationId: 'acme',
      userId: 'alice',
      owner: connection,
      ...fields,
    });
    beforeEach(async () => {
      n++;
      store = await create();
    });
    afterEach(() => store.close());

    it('keeps subscriptions with filters and positions, and applies later positions and removals', async () => {
      const a = owner('conn_a');
      expect(await store.save(a, update({ subscribed: new Map([['agent:x', { filters: { types: ['t'] }, position: { offset: 3, epoch: 'e1' } }], ['agent:y', {}]]) }), 60_000)).toBe(true);
      expect(await store.save(a, update({ positions: new Map([['agent:y', { offset: 9, epoch: 'e2' }]]) }), 60_000)).toBe(true);
      expect(await store.save(a, update({ subscribed: new Map([['agent:z', { acknowledgment: true, position: { offset: 2, epoch: 'e3' } }]]) }), 60_000)).toBe(true);
      const claimed = await store.claim({ ...a, owner: 'conn_b' }, 60_000);
      expect(claimed.kind).toBe('claimed');
      expect(claimed.kind === 'claimed' && Object.fromEntries(claimed.subscriptions)).toEqual({
        'agent:x': { filters: { types: ['t'] }, position: { offset: 3, epoch: 'e1' } },
        'agent:y': { position: { offset: 9, epoch: 'e2' } },
        // The delivery mode is part of the session: an acknowledged subscription comes back acknowledged.
        'agent:z': { acknowledgment: true, position: { offset: 2, epoch: 'e3' } },
      });
      const b = { ...a, owner: 'conn_b' };
      expect(await store.save(b, update({ unsubscribed: ['agent:x'] }), 60_000)).toBe(true);
      const again = await store.claim(b, 60_000);
      expect(again.kind === 'claimed' && [...again.subscriptions.keys()].sort()).toEqual(['agent:y', 'agent:z']);
    });

    it('refuses a claim whose attempt is lower than the last claim\'s (a connect the client gave up on), and fences nothing without attempts', async () => {
      const a = owner('conn_a');
      await store.save(a, update({ subscribed: new Map([['agent:x', {}]]) }), 60_000);
      expect((await store.claim({ ...a, owner: 'conn_b' }, 60_000, 2)).kind).toBe('claimed');
      // The older attempt, processed late: it may not take the session from conn_b.
      expect(await store.claim({ ...a, owner: 'conn_late' }, 60_000, 1)).toEqual({ kind: 'stale' });
      expect(await store.save({ ...a, owner: 'conn_b' }, update({}), 60_000)).toBe(true);
      expect((await store.claim({ ...a, owner: 'conn_c' }, 60_000, 3)).kind).toBe('claimed');
      // A client that sends no attempt numbers is not fenced by them.
      expect((await store.claim({ ...a, owner: 'conn_d' }, 60_000)).kind).toBe('claimed');
      expect((await store.claim({ ...a, owner: 'conn_e' }, 60_000, 0)).kind).toBe('claimed');
    });

    it('refuses writes from a connection that lost the session to a claim (fencing)', async () => {
      const a = owner('conn_a');
      await store.save(a, update({ subscribed: new Map([['agent:x', { position: { offset: 1, epoch: 'e' } }]]) }), 60_000);
      await store.claim({ ...a, owner: 'conn_b' }, 60_000);
      expect(await store.save(a, update({ positions: new Map([['agent:x', { offset: 99, epoch: 'e' }]]) }), 60_000)).toBe(false);
      const state = await store.claim({ ...a, owner: 'conn_c' }, 60_000);
      expect(state.kind === 'claimed' && state.subscriptions.get('agent:x')).toEqual({ position: { offset: 1, epoch: 'e' } });
    });

    it("never hands a session to another user or organisation", async () => {
      const a = owner('conn_a');
      await store.save(a, update({ subscribed: new Map([['agent:x', {}]]) }), 60_000);
      expect(await store.claim({ ...a, userId: 'mallory', owner: 'conn_m' }, 60_000)).toEqual({ kind: 'foreign' });
      expect(await store.claim({ ...a, organizationId: 'other', owner: 'conn_m' }, 60_000)).toEqual({ kind: 'foreign' });
      expect(await store.save({ ...a, userId: 'mallory' }, update({ unsubscribed: ['agent:x'] }), 60_000)).toBe(false);
    });

    it('forgets a session its TTL after the last write; claiming an unknown session creates nothing', async () => {
      const a = owner('conn_a');
      await store.save(a, update({ subscribed: new Map([['agent:x', {}]]) }), 150);
      await new Promise((r) => setTimeout(r, 400));
      expect(await store.claim({ ...a, owner: 'conn_b' }, 60_000)).toEqual({ kind: 'missing' });
      expect(await store.claim({ ...a, owner: 'conn_b' }, 60_000)).toEqual({ kind: 'missing' });
      // An empty write creates the session: a resume right after finds it, with nothing subscribed.
      await store.save(a, update({}), 60_000);
      const claimed = await store.claim({ ...a, owner: 'conn_b' }, 60_000);
      expect(claimed.kind === 'claimed' && claimed.subscriptions.size).toBe(0);
    });

    it('tells which sessions live, without refreshing or creating any', async () => {
      const a = owner('conn_a');
      const b = { ...owner('conn_b'), sessionId: `${a.sessionId}_b` };
      const brief = { ...owner('conn_c'), sessionId: `${a.sessionId}_c` };
      await store.save(a, update({}), 60_000);
      await store.save(b, update({ subscribed: new Map([['agent:x', { acknowledgment: true }]]) }), 60_000);
      await store.save(brief, update({}), 150);
      const never = `${a.sessionId}_never`;
      expect([...(await store.liveSessions([a.sessionId, never, b.sessionId, brief.sessionId]))].sort()).toEqual([a.sessionId, b.sessionId, brief.sessionId].sort());
      await new Promise((r) => setTimeout(r, 400));
      // Expired by its TTL; asking did not keep it alive, and asking about one that never was created nothing.
      expect([...(await store.liveSessions([brief.sessionId, never, a.sessionId]))]).toEqual([a.sessionId]);
      expect(await store.claim({ ...brief, owner: 'conn_d' }, 60_000)).toEqual({ kind: 'missing' });
      expect(await store.claim({ ...a, sessionId: never }, 60_000)).toEqual({ kind: 'missing' });
      expect((await store.liveSessions([])).size).toBe(0);
    });

    if (peer) {
      it('another node sees what this one wrote', async () => {
        const other = await peer();
        try {
          const a = owner('conn_a');
          await store.save(a, update({ subscribed: new Map([['user:alice:inbox', { position: { offset: 42, epoch: 'ep' } }]]) }), 60_000);
          const claimed = await other.claim({ ...a, owner: 'conn_elsewhere' }, 60_000);
          expect(claimed.kind === 'claimed' && claimed.subscriptions.get('user:alice:inbox')).toEqual({ position: { offset: 42, epoch: 'ep' } });
          expect(await store.save(a, update({}), 60_000)).toBe(false);
        } finally {
          await other.close();
        }
      });
    }
  });
}
