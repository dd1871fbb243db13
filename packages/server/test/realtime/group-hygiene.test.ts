import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { SessionOwner } from '../../src/engine/session-store.js';
import { EMPTY_UPDATE } from '../../src/engine/session-store.js';
import { GroupHygiene } from '../../src/realtime/group-hygiene.js';
import { durableEngines } from '../support/durable-engines.js';
import { capturingLogger } from '../support/records-fixtures.js';

/**
 * The hygiene of ADR 0048 over the real engines (memory, and Redis for groups and sessions
 * alike): a join on a channel removes the acknowledged groups of sessions that are gone from the
 * session store and idle past the session TTL — at most once per channel per interval, a page at a
 * time — and keeps the groups of live sessions, of sessions active within the TTL, and queue groups;
 * of a queue group's members, only a gone session's that holds nothing leaves the member list.
 */
const PREFIX = `apixtest-hygiene-${process.pid}-${Date.now()}`;
/** Short on purpose: the session TTL is what a group must be idle for before it may go. */
const TTL_MS = 300;

const { engines, cleanup } = durableEngines(PREFIX);
afterAll(cleanup);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seq = 0;

describe.each(engines)('GroupHygiene ($name engine)', ({ make }) => {
  it("removes a gone session's idle group (and its idle, empty queue-group membership) on the next join after the interval; keeps live sessions', recently active and queue groups", { timeout: 30_000 }, async () => {
    const { broker, durable, sessions, close } = await make();
    const key = `org${process.pid}/agent:hygiene-${Date.now()}-${++seq}`;
    const id = (name: string) => `sess_${process.pid}_${seq}_${name}`;
    const session = (name: string): SessionOwner => ({ sessionId: id(name), organizationId: 'org', userId: name, owner: `conn_${name}` });
    const hygiene = new GroupHygiene(durable, sessions, { intervalMs: 1_500, sessionTtlMs: TTL_MS }, capturingLogger().logger);
    const acknowledged = async () => (await durable.listGroups(key, { prefix: 'a:', limit: 100 })).map((g) => g.group);
    try {
      await broker.publish(key, '{"type":"t"}', { historySize: 100, historyTtlMs: 3_600_000 });
      await sessions.save(session('live'), EMPTY_UPDATE, 60_000);
      await sessions.save(session('expired'), EMPTY_UPDATE, 100);
      for (const name of ['live', 'expired', 'never', 'young']) await durable.join(key, `a:${id(name)}`, id(name), { start: { kind: 'new' } });
      // A queue group: a member whose session never was, one whose session lives, one (sessionless) holding an entry.
      for (const name of ['never', 'live', 'holder']) await durable.join(key, 'q:workers', id(name), { start: { kind: 'retained' } });
      expect((await durable.read(key, 'q:workers', id('holder'), { count: 1, from: 'new' })).entries).toHaveLength(1);
      await sleep(TTL_MS + 200);
      // Handed an entry within the TTL: in use, perhaps by a session the keeper has not written yet. It stays, session or not.
      await broker.publish(key, '{"type":"t"}', { historySize: 100, historyTtlMs: 3_600_000 });
      expect((await durable.read(key, `a:${id('young')}`, id('young'), { count: 10, from: 'new' })).entries).toHaveLength(1);

      hygiene.joined(key);
      await hygiene.settled();
      expect(await acknowledged()).toEqual([`a:${id('live')}`, `a:${id('young')}`].sort());
      // The queue group stays; of its members only the gone session's that held nothing left the member list.
      const [queue] = await durable.listGroups(key, { prefix: 'q:', limit: 10 });
      expect(queue!.group).toBe('q:workers');
      expect(queue!.members.map((m) => [m.member, m.pending])).toEqual([[id('holder'), 1], [id('live'), 0]]);
      expect(hygiene.stats).toMatchObject({ passes: 1, removed: 2, membersRemoved: 1 });

      // Another gone session's group, idle past the TTL; a join within the interval does not look.
      await durable.join(key, `a:${id('late')}`, id('late'), { start: { kind: 'new' } });
      await sleep(TTL_MS + 200);
      hygiene.joined(key);
      await hygiene.settled();
      expect(hygiene.stats.passes).toBe(1);
      expect(await acknowledged()).toContain(`a:${id('late')}`);

      // After the interval, the next join does: the late group goes, and the young one (now idle past the TTL) too.
      await sleep(1_500);
      hygiene.joined(key);
      await hygiene.settled();
      expect(hygiene.stats.passes).toBe(2);
      expect(await acknowledged()).toEqual([`a:${id('live')}`]);
      // The live session's group is intact: it still reads, from where it was.
      expect((await durable.read(key, `a:${id('live')}`, id('live'), { count: 10, from: 'both' })).entries.map((e) => e.offset)).toEqual([2]);
    } finally {
      hygiene.close();
      await close();
    }
  });

  it('inspects a page per pass and goes on after it at the next pass, so live groups in front never hide gone ones', { timeout: 30_000 }, async () => {
    const { broker, durable, sessions, close } = await make();
    const key = `org${process.pid}/agent:hygiene-pages-${Date.now()}-${++seq}`;
    const hygiene = new GroupHygiene(durable, sessions, { intervalMs: 1, sessionTtlMs: TTL_MS, pageSize: 2 }, capturingLogger().logger);
    try {
      await broker.publish(key, '{"type":"t"}', { historySize: 100, historyTtlMs: 3_600_000 });
      // Names sort a:1 < a:2 < a:3: two live sessions in front of a gone one.
      const name = (n: number) => `sess_${process.pid}_${seq}_${n}`;
      for (const n of [1, 2]) await sessions.save({ sessionId: name(n), organizationId: 'org', userId: `u${n}`, owner: `c${n}` }, EMPTY_UPDATE, 60_000);
      for (const n of [1, 2, 3]) await durable.join(key, `a:${name(n)}`, name(n), { start: { kind: 'new' } });
      await sleep(TTL_MS + 200);
      hygiene.joined(key);
      await hygiene.settled();
      expect(hygiene.stats).toMatchObject({ passes: 1, inspected: 2, removed: 0 });
      await sleep(5);
      hygiene.joined(key);
      await hygiene.settled();
      expect(hygiene.stats).toMatchObject({ passes: 2, inspected: 3, removed: 1 });
      expect((await durable.listGroups(key, { prefix: 'a:', limit: 10 })).map((g) => g.group)).toEqual([`a:${name(1)}`, `a:${name(2)}`]);
    } finally {
      hygiene.close();
      await close();
    }
  });
});
