import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { DurableGroupMissingError, type DurableConsumers, type DurableEntry, type ReadOutcome } from '../../src/engine/durable-consumers.js';

/** What the contract needs around an implementation: the engine and a way to write the log. */
export interface DurableFixture {
  readonly consumers: DurableConsumers;
  /** Appends to the channel's log as the broker does, keeping the last `keepLast`; returns the offset. */
  append(channelKey: string, data: string, keepLast?: number): Promise<number>;
  /** Loses the channel's log as the broker does when the stream is gone (the next append starts a new epoch). */
  removeLog(channelKey: string): Promise<void>;
  close(): Promise<void>;
}

const TEST_TIMEOUT_MS = 15_000;

const until = async <T>(produce: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> => {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await produce();
    if (done(value)) return value;
    if (performance.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

const offsets = (entries: readonly DurableEntry[]) => entries.map((e) => e.offset);

/**
 * The DurableConsumers contract (durable-consumers.ts), run unchanged over every
 * implementation. Channel keys are unique per test so implementations with shared state
 * cannot leak between cases.
 */
export function describeDurableConsumersContract(name: string, create: () => Promise<DurableFixture>): void {
  describe(`DurableConsumers contract: ${name}`, () => {
    let fixture: DurableFixture;
    let consumers: DurableConsumers;
    let n = 0;
    const key = () => `org${process.pid}/agent:durable-${Date.now()}-${++n}`;
    const appendMany = async (channelKey: string, count: number, keepLast?: number) => {
      for (let i = 1; i <= count; i++) await fixture.append(channelKey, `{"n":${i}}`, keepLast);
    };

    beforeEach(async () => {
      fixture = await create();
      consumers = fixture.consumers;
    });
    afterEach(() => fixture.close());

    it('creates a group once; later joins join it', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      expect(await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } })).toEqual({ created: true });
      expect(await consumers.join(k, 'g', 'b', { start: { kind: 'retained' } })).toEqual({ created: false });
      expect(await consumers.join(k, 'other', 'a', { start: { kind: 'new' } })).toEqual({ created: true });
    });

    it('rejects calls on a group that was never created with the typed error; acks count 0', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await fixture.append(k, '{"n":1}');
      await expect(consumers.read(k, 'nobody', 'a', { count: 1, from: 'new' })).rejects.toThrow(DurableGroupMissingError);
      await expect(consumers.claim(k, 'nobody', 'a', { count: 1, minIdleMs: 0 })).rejects.toThrow(DurableGroupMissingError);
      await expect(consumers.deadLetter(k, 'nobody', '1', 'x')).rejects.toThrow(DurableGroupMissingError);
      expect(await consumers.ack(k, 'nobody', ['1'])).toBe(0);
      expect(await consumers.ack(key(), 'nobody', ['1'])).toBe(0);
    });

    it('loses a group with its log; a new join starts it afresh on the new log', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
      await appendMany(k, 3);
      const held = (await consumers.read(k, 'g', 'a', { count: 10, from: 'new' })).entries;
      expect(held).toHaveLength(3);
      // A redelivered letter waiting for the group goes with the group too.
      expect(await consumers.deadLetter(k, 'g', held[0]!.id, 'x')).toBe('dead-lettered');
      expect(await consumers.redeliver(k, (await consumers.deadLetters(k, { limit: 1 })).letters[0]!.id)).toBe(true);
      await fixture.removeLog(k);
      await fixture.append(k, '{"epoch":2}');
      await expect(consumers.read(k, 'g', 'a', { count: 10, from: 'both' })).rejects.toThrow(DurableGroupMissingError);
      await expect(consumers.claim(k, 'g', 'b', { count: 10, minIdleMs: 0 })).rejects.toThrow(DurableGroupMissingError);
      expect(await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } })).toEqual({ created: true });
      const fresh = await consumers.read(k, 'g', 'a', { count: 10, from: 'both' });
      expect(fresh.entries.map((e) => e.data)).toEqual(['{"epoch":2}']);
    });

    it('never lets an id handed out before a lost log name an entry of the new log, however fast the log comes back', { timeout: TEST_TIMEOUT_MS }, async () => {
      // Each round loses the log within a millisecond or so of its last append; an engine whose
      // ids carry only <offset>-<ms> gave the new log's first entry the old entry's id.
      for (let round = 0; round < 20; round++) {
        const k = key();
        await fixture.append(k, '{"epoch":1}');
        await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
        const [old] = (await consumers.read(k, 'g', 'a', { count: 1, from: 'new' })).entries;
        await fixture.removeLog(k);
        await fixture.append(k, '{"epoch":2}');
        await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
        const [fresh] = (await consumers.read(k, 'g', 'a', { count: 1, from: 'new' })).entries;
        expect(fresh!.offset).toBe(old!.offset);
        expect(fresh!.id).not.toBe(old!.id);
        expect(await consumers.deadLetter(k, 'g', old!.id, 'old id')).toBe('not-pending');
        expect(await consumers.ack(k, 'g', [old!.id])).toBe(0);
      }
    });

    it('removes a group: its pending list goes, other groups stay', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
      await consumers.join(k, 'keep', 'a', { start: { kind: 'retained' } });
      await appendMany(k, 2);
      await consumers.read(k, 'g', 'a', { count: 10, from: 'new' });
      expect(await consumers.removeGroup(k, 'g')).toBe(true);
      expect(await consumers.removeGroup(k, 'g')).toBe(false);
      expect(await consumers.removeGroup(key(), 'g')).toBe(false);
      await expect(consumers.read(k, 'g', 'a', { count: 10, from: 'both' })).rejects.toThrow(DurableGroupMissingError);
      expect(offsets((await consumers.read(k, 'keep', 'a', { count: 10, from: 'new' })).entries)).toEqual([1, 2]);
    });

    it('releases a member\'s entries: claimable by anyone at once, counts unchanged, others\' entries skipped, trimmed ones gone', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
      await consumers.join(k, 'g', 'b', { start: { kind: 'retained' } });
      await appendMany(k, 4, 100);
      const held = (await consumers.read(k, 'g', 'a', { count: 10, from: 'new' })).entries;
      expect(offsets(held)).toEqual([1, 2, 3, 4]);
      await fixture.append(k, '{"n":5}', 4); // retention now keeps offsets 2..5: offset 1 is trimmed while pending
      const [e1, e2, e3] = held as [DurableEntry, DurableEntry, DurableEntry, DurableEntry];
      const outcome = await consumers.release(k, 'g', 'a', [e1.id, e2.id, e3.id, e3.id, 'r:1-1', 'not-an-id']);
      expect(outcome.released).toBe(2);
      expect(outcome.gone).toEqual([{ id: e1.id, offset: 1 }]);
      // Released entries are no longer the member's: its pending re-read hands out only what it kept.
      expect(offsets((await consumers.read(k, 'g', 'a', { count: 10, from: 'pending' })).entries)).toEqual([4]);
      // Far from idle by the clock, yet claimable at once; releasing was not a delivery, the claim is.
      const claimed = await consumers.claim(k, 'g', 'b', { minIdleMs: 60_000, count: 10 });
      expect(offsets(claimed.entries)).toEqual([2, 3]);
      expect(claimed.entries.map((e) => e.deliveryCount)).toEqual([2, 2]);
      expect(claimed.gone).toEqual([]);
      // Claimed by b now: a cannot release them again, and a second claim finds nothing idle.
      expect(await consumers.release(k, 'g', 'a', [e2.id, e3.id])).toEqual({ released: 0, gone: [] });
      expect((await consumers.claim(k, 'g', 'a', { minIdleMs: 60_000, count: 10 })).entries).toEqual([]);
      expect(await consumers.ack(k, 'g', [e2.id, e3.id])).toBe(2);
      await expect(consumers.release(k, 'nobody', 'a', [e2.id])).rejects.toThrow(DurableGroupMissingError);
    });

    it('removes a member only when it holds nothing pending (log or redelivered entries); then it is gone from the group', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'solo', 'a', { start: { kind: 'retained' } });
      await appendMany(k, 2);
      const held = (await consumers.read(k, 'solo', 'a', { count: 10, from: 'new' })).entries;
      // Refused: removing it would drop what it holds from the pending list.
      expect(await consumers.removeMember(k, 'solo', 'a')).toBe(false);
      const kept = await consumers.read(k, 'solo', 'a', { count: 10, from: 'pending' });
      expect(kept.entries.map((e) => [e.offset, e.deliveryCount])).toEqual([[1, 2], [2, 2]]);
      // A redelivered dead letter it holds counts too.
      expect(await consumers.deadLetter(k, 'solo', held[0]!.id, 'x')).toBe('dead-lettered');
      expect(await consumers.ack(k, 'solo', [held[1]!.id])).toBe(1);
      expect(await consumers.redeliver(k, (await consumers.deadLetters(k, { limit: 1 })).letters[0]!.id)).toBe(true);
      const redriven = (await consumers.read(k, 'solo', 'a', { count: 10, from: 'new' })).entries;
      expect(offsets(redriven)).toEqual([1]);
      expect(await consumers.removeMember(k, 'solo', 'a')).toBe(false);
      expect(await consumers.ack(k, 'solo', [redriven[0]!.id])).toBe(1);
      // Holds nothing: removed, and the group has no member left.
      expect((await consumers.listGroups(k, { prefix: 'solo', limit: 10 }))[0]!.idleMs).toBeLessThan(60_000);
      expect(await consumers.removeMember(k, 'solo', 'a')).toBe(true);
      expect(await consumers.listGroups(k, { prefix: 'solo', limit: 10 })).toEqual([{ group: 'solo', idleMs: Number.POSITIVE_INFINITY, members: [] }]);
      // Not there: nothing to do.
      expect(await consumers.removeMember(k, 'solo', 'a')).toBe(true);
      expect(await consumers.removeMember(k, 'solo', 'never')).toBe(true);
      await expect(consumers.removeMember(k, 'nobody', 'a')).rejects.toThrow(DurableGroupMissingError);
    });

    it('lists groups by prefix in name order, a page at a time, with the time since their members last read', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      expect(await consumers.listGroups(k, { prefix: 'a:', limit: 10 })).toEqual([]);
      await consumers.join(k, 'a:s2', 's2', { start: { kind: 'new' } });
      await consumers.join(k, 'a:s1', 's1', { start: { kind: 'new' } });
      await consumers.join(k, 'q:w', 'm', { start: { kind: 'new' } });
      await new Promise((r) => setTimeout(r, 300));
      await fixture.append(k, '{"n":1}');
      await consumers.read(k, 'a:s2', 's2', { count: 10, from: 'new' });
      const all = await consumers.listGroups(k, { prefix: 'a:', limit: 10 });
      expect(all.map((g) => g.group)).toEqual(['a:s1', 'a:s2']);
      expect(all[0]!.idleMs).toBeGreaterThanOrEqual(250);
      expect(all[1]!.idleMs).toBeLessThan(all[0]!.idleMs);
      expect((await consumers.listGroups(k, { prefix: 'a:', limit: 1 })).map((g) => g.group)).toEqual(['a:s1']);
      expect((await consumers.listGroups(k, { prefix: 'a:', after: 'a:s1', limit: 10 })).map((g) => g.group)).toEqual(['a:s2']);
      expect(await consumers.listGroups(k, { prefix: 'a:', after: 'a:s2', limit: 10 })).toEqual([]);
      // A cursor that names a group removed since still pages on from its place.
      expect(await consumers.removeGroup(k, 'a:s1')).toBe(true);
      expect((await consumers.listGroups(k, { prefix: 'a:', after: 'a:s1', limit: 10 })).map((g) => g.group)).toEqual(['a:s2']);
      expect((await consumers.listGroups(k, { prefix: 'q:', limit: 10 })).map((g) => g.group)).toEqual(['q:w']);
      // Members, in name order, with what each holds of the log and its own idle time.
      await consumers.join(k, 'q:w', 'b', { start: { kind: 'new' } });
      await fixture.append(k, '{"n":2}');
      await fixture.append(k, '{"n":3}');
      await consumers.read(k, 'q:w', 'm', { count: 2, from: 'new' });
      const [queue] = await consumers.listGroups(k, { prefix: 'q:', limit: 10 });
      expect(queue!.members.map((m) => [m.member, m.pending])).toEqual([['b', 0], ['m', 2]]);
      expect(queue!.members.every((m) => m.idleMs >= 0 && m.idleMs < 60_000)).toBe(true);
      expect(queue!.idleMs).toBe(Math.min(...queue!.members.map((m) => m.idleMs)));
    });

    it('rejects bad arguments with a RangeError', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
      await expect(consumers.read(k, 'g', 'a', { count: 0, from: 'new' })).rejects.toThrow(RangeError);
      await expect(consumers.read(k, 'g', 'a', { count: 1e9, from: 'new' })).rejects.toThrow(RangeError);
      await expect(consumers.claim(k, 'g', 'a', { count: 1, minIdleMs: -1 })).rejects.toThrow(RangeError);
      await expect(consumers.join(k, '', 'a', { start: { kind: 'new' } })).rejects.toThrow(RangeError);
      await expect(consumers.join(k, 'g', 'a', { start: { kind: 'after', offset: -1 } })).rejects.toThrow(RangeError);
      await expect(consumers.deadLetters(k, { limit: 1, after: 'not a cursor' })).rejects.toThrow(RangeError);
    });

    describe.each([
      { start: { kind: 'new' } as const, expected: [4, 5] },
      { start: { kind: 'retained' } as const, expected: [1, 2, 3, 4, 5] },
      { start: { kind: 'after', offset: 2 } as const, expected: [3, 4, 5] },
      { start: { kind: 'after', offset: 0 } as const, expected: [1, 2, 3, 4, 5] },
    ])('a group started at $start.kind $start.offset', ({ start, expected }) => {
      it('reads the log from there, with offsets that line up with the log', { timeout: TEST_TIMEOUT_MS }, async () => {
        const k = key();
        await appendMany(k, 3);
        await consumers.join(k, 'g', 'a', { start });
        await fixture.append(k, '{"n":4}');
        await fixture.append(k, '{"n":5}');
        const { entries, gone } = await consumers.read(k, 'g', 'a', { count: 100, from: 'new' });
        expect(offsets(entries)).toEqual(expected);
        expect(entries.map((e) => e.data)).toEqual(expected.map((o) => `{"n":${o}}`));
        expect(entries.every((e) => e.deliveryCount === 1)).toBe(true);
        expect(gone).toEqual([]);
      });
    });

    it('hands each entry to exactly one member', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      const members = ['a', 'b', 'c'];
      for (const m of members) await consumers.join(k, 'g', m, { start: { kind: 'retained' } });
      await appendMany(k, 20);
      const got = new Map<string, number[]>(members.map((m) => [m, []]));
      // Concurrent reads by all members, repeatedly, until the log is drained.
      for (let round = 0; round < 20; round++) {
        const outcomes = await Promise.all(members.map((m) => consumers.read(k, 'g', m, { count: 3, from: 'new' })));
        outcomes.forEach((o, i) => got.get(members[i]!)!.push(...offsets(o.entries)));
        if (outcomes.every((o) => o.entries.length === 0)) break;
      }
      const all = [...got.values()].flat().sort((x, y) => x - y);
      expect(all).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      // A second group on the same channel gets every entry again: groups are independent.
      await consumers.join(k, 'second', 'z', { start: { kind: 'retained' } });
      expect(offsets((await consumers.read(k, 'second', 'z', { count: 100, from: 'new' })).entries)).toHaveLength(20);
    });

    it('acks remove entries from pending; a re-read of pending counts as a delivery', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
      await appendMany(k, 5);
      const first = await consumers.read(k, 'g', 'a', { count: 10, from: 'new' });
      const ids = first.entries.map((e) => e.id);
      expect(new Set(ids).size).toBe(5);
      expect(await consumers.ack(k, 'g', ids.slice(0, 2))).toBe(2);
      expect(await consumers.ack(k, 'g', ids.slice(0, 2))).toBe(0); // already acked
      const again = await consumers.read(k, 'g', 'a', { count: 10, from: 'pending' });
      expect(offsets(again.entries)).toEqual([3, 4, 5]);
      expect(again.entries.map((e) => e.deliveryCount)).toEqual([2, 2, 2]);
      expect(again.entries.map((e) => e.id)).toEqual(ids.slice(2));
      // 'both': pending first, then new.
      await fixture.append(k, '{"n":6}');
      const both = await consumers.read(k, 'g', 'a', { count: 10, from: 'both' });
      expect(offsets(both.entries)).toEqual([3, 4, 5, 6]);
      expect(both.entries.map((e) => e.deliveryCount)).toEqual([3, 3, 3, 1]);
      expect(await consumers.ack(k, 'g', both.entries.map((e) => e.id))).toBe(4);
      expect((await consumers.read(k, 'g', 'a', { count: 10, from: 'both' })).entries).toEqual([]);
    });

    it('fills a "both" read with new entries after the pending ones, up to the count', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
      await fixture.append(k, '{"n":1}');
      await consumers.read(k, 'g', 'a', { count: 1, from: 'new' });
      await appendMany(k, 3);
      const both = await consumers.read(k, 'g', 'a', { count: 2, from: 'both' });
      expect(both.entries.map((e) => [e.offset, e.deliveryCount])).toEqual([
        [1, 2],
        [2, 1],
      ]);
    });

    it('claims an idle member\'s entries only after the idle time, with delivery counts incremented', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      const minIdleMs = 300;
      await consumers.join(k, 'g', 'dead', { start: { kind: 'retained' } });
      await consumers.join(k, 'g', 'alive', { start: { kind: 'retained' } });
      await appendMany(k, 3);
      const handedAt = performance.now();
      const held = await consumers.read(k, 'g', 'dead', { count: 10, from: 'new' });
      expect(offsets(held.entries)).toEqual([1, 2, 3]);
      // Far from idle: nothing moves.
      expect((await consumers.claim(k, 'g', 'alive', { minIdleMs: 60_000, count: 10 })).entries).toEqual([]);
      const claimed = await until(
        () => consumers.claim(k, 'g', 'alive', { minIdleMs, count: 10 }),
        (o: ReadOutcome) => o.entries.length > 0,
      );
      expect(performance.now() - handedAt).toBeGreaterThanOrEqual(minIdleMs);
      expect(offsets(claimed.entries)).toEqual([1, 2, 3]);
      expect(claimed.entries.map((e) => e.deliveryCount)).toEqual([2, 2, 2]);
      expect(claimed.entries.map((e) => e.id)).toEqual(held.entries.map((e) => e.id));
      // One holder: the old member no longer holds them, the claimer does.
      expect((await consumers.read(k, 'g', 'dead', { count: 10, from: 'pending' })).entries).toEqual([]);
      // A claim resets the idle clock: an immediate second claim takes nothing.
      expect((await consumers.claim(k, 'g', 'dead', { minIdleMs, count: 10 })).entries).toEqual([]);
      const mine = await consumers.read(k, 'g', 'alive', { count: 10, from: 'pending' });
      expect(offsets(mine.entries)).toEqual([1, 2, 3]);
      expect(mine.entries.map((e) => e.deliveryCount)).toEqual([3, 3, 3]);
      expect(await consumers.ack(k, 'g', mine.entries.map((e) => e.id))).toBe(3);
    });

    it('retries given pending entries at once: counts +1, new holder, unknown ids skipped, trimmed ones gone', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
      await consumers.join(k, 'g', 'b', { start: { kind: 'retained' } });
      await appendMany(k, 3, 100);
      const held = (await consumers.read(k, 'g', 'a', { count: 10, from: 'new' })).entries;
      const [one, two, three] = held.map((e) => e.id) as [string, string, string];
      await consumers.ack(k, 'g', [two]);
      const retried = await consumers.retry(k, 'g', 'b', [one, two, three, 'no-such-id']);
      expect(retried.entries.map((e) => [e.id, e.offset, e.data, e.deliveryCount])).toEqual([
        [one, 1, '{"n":1}', 2],
        [three, 3, '{"n":3}', 2],
      ]);
      expect(retried.gone).toEqual([]);
      expect((await consumers.read(k, 'g', 'a', { count: 10, from: 'pending' })).entries).toEqual([]);
      expect(offsets((await consumers.read(k, 'g', 'b', { count: 10, from: 'pending' })).entries)).toEqual([1, 3]);
      await fixture.append(k, '{"n":4}', 1); // trims 1..3
      const after = await consumers.retry(k, 'g', 'b', [one, three]);
      expect(after.entries).toEqual([]);
      expect(after.gone.map((g) => [g.id, g.offset])).toEqual([
        [one, 1],
        [three, 3],
      ]);
      expect(await consumers.ack(k, 'g', [one, three])).toBe(0);
      await expect(consumers.retry(k, 'nobody', 'b', [one])).rejects.toThrow(DurableGroupMissingError);
    });

    it('dead-letters an entry after the max deliveries, and lists it with reason and count', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      const maxDeliveries = 3;
      await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
      await fixture.append(k, '{"poison":true}');
      let entry = (await consumers.read(k, 'g', 'a', { count: 1, from: 'new' })).entries[0]!;
      // What the RetryManager does: redeliver until the count reaches the max, then dead-letter.
      while (entry.deliveryCount < maxDeliveries) {
        entry = (await consumers.read(k, 'g', 'a', { count: 1, from: 'pending' })).entries[0]!;
      }
      expect(entry.deliveryCount).toBe(maxDeliveries);
      expect(await consumers.deadLetter(k, 'g', entry.id, 'max deliveries reached')).toBe('dead-lettered');
      expect(await consumers.deadLetter(k, 'g', entry.id, 'again')).toBe('not-pending');
      expect(await consumers.deadLetter(k, 'g', 'no-such-id', 'x')).toBe('not-pending');
      expect((await consumers.read(k, 'g', 'a', { count: 10, from: 'both' })).entries).toEqual([]);
      const page = await consumers.deadLetters(k, { limit: 10 });
      expect(page.next).toBeUndefined();
      expect(page.letters).toHaveLength(1);
      expect(page.letters[0]).toMatchObject({
        group: 'g',
        offset: 1,
        data: '{"poison":true}',
        reason: 'max deliveries reached',
        deliveryCount: maxDeliveries,
      });
      expect(Math.abs(page.letters[0]!.deadLetteredAt - Date.now())).toBeLessThan(60_000);
      expect(await consumers.deadLetterById(k, page.letters[0]!.id)).toEqual(page.letters[0]);
    });

    it('pages through dead letters oldest first', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
      await appendMany(k, 5);
      const { entries } = await consumers.read(k, 'g', 'a', { count: 10, from: 'new' });
      for (const e of entries) expect(await consumers.deadLetter(k, 'g', e.id, `reason ${e.offset}`)).toBe('dead-lettered');
      const seen: number[] = [];
      let after: string | undefined;
      const pageSizes: number[] = [];
      do {
        const page = await consumers.deadLetters(k, { limit: 2, ...(after === undefined ? {} : { after }) });
        pageSizes.push(page.letters.length);
        seen.push(...page.letters.map((l) => l.offset));
        after = page.next;
      } while (after !== undefined);
      expect(pageSizes).toEqual([2, 2, 1]);
      expect(seen).toEqual([1, 2, 3, 4, 5]);
      expect((await consumers.deadLetters(key(), { limit: 5 })).letters).toEqual([]);
    });

    it('redelivers a dead letter to its group, counts carried on, before new entries', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
      await consumers.join(k, 'g', 'b', { start: { kind: 'retained' } });
      await fixture.append(k, '{"n":1}');
      const first = (await consumers.read(k, 'g', 'a', { count: 1, from: 'new' })).entries[0]!;
      expect(await consumers.deadLetter(k, 'g', first.id, 'handler failed')).toBe('dead-lettered');
      const letter = (await consumers.deadLetters(k, { limit: 1 })).letters[0]!;
      await fixture.append(k, '{"n":2}');
      expect(await consumers.redeliver(k, letter.id)).toBe(true);
      expect(await consumers.redeliver(k, letter.id)).toBe(false); // moved, not copied
      expect((await consumers.deadLetters(k, { limit: 10 })).letters).toEqual([]);
      const again = await consumers.read(k, 'g', 'b', { count: 10, from: 'new' });
      expect(again.entries.map((e) => [e.offset, e.data, e.deliveryCount])).toEqual([
        [1, '{"n":1}', 2],
        [2, '{"n":2}', 1],
      ]);
      // The redelivered entry is pending like any other: claimable, ackable once.
      const redelivered = again.entries[0]!;
      expect(redelivered.id).not.toBe(first.id);
      const pending = await consumers.read(k, 'g', 'b', { count: 10, from: 'pending' });
      const byOffset = [...pending.entries].sort((x, y) => x.offset - y.offset);
      expect(byOffset.map((e) => [e.id, e.deliveryCount])).toEqual([
        [redelivered.id, 3],
        [again.entries[1]!.id, 2],
      ]);
      expect(await consumers.ack(k, 'g', [redelivered.id])).toBe(1);
      expect(await consumers.ack(k, 'g', [redelivered.id])).toBe(0);
      expect(await consumers.redeliver(k, 'no-such-letter')).toBe(false);
    });

    it('treats a redelivered entry like any pending one: claimable, retried, dead-lettered again with its count', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
      await consumers.join(k, 'g', 'b', { start: { kind: 'retained' } });
      await fixture.append(k, '{"n":1}');
      const first = (await consumers.read(k, 'g', 'a', { count: 1, from: 'new' })).entries[0]!;
      expect(await consumers.deadLetter(k, 'g', first.id, 'first failure')).toBe('dead-lettered');
      expect(await consumers.redeliver(k, (await consumers.deadLetters(k, { limit: 1 })).letters[0]!.id)).toBe(true);
      const handed = (await consumers.read(k, 'g', 'a', { count: 1, from: 'new' })).entries[0]!;
      expect([handed.offset, handed.deliveryCount]).toEqual([1, 2]);
      const claimed = await consumers.claim(k, 'g', 'b', { minIdleMs: 0, count: 10 });
      expect(claimed.entries.map((e) => [e.id, e.offset, e.data, e.deliveryCount])).toEqual([[handed.id, 1, '{"n":1}', 3]]);
      const retried = await consumers.retry(k, 'g', 'a', [handed.id]);
      expect(retried.entries.map((e) => [e.id, e.deliveryCount])).toEqual([[handed.id, 4]]);
      expect(await consumers.deadLetter(k, 'g', handed.id, 'second failure')).toBe('dead-lettered');
      expect(await consumers.ack(k, 'g', [handed.id])).toBe(0);
      const letters = (await consumers.deadLetters(k, { limit: 10 })).letters;
      expect(letters.map((l) => [l.group, l.offset, l.data, l.reason, l.deliveryCount])).toEqual([[
        'g', 1, '{"n":1}', 'second failure', 4,
      ]]);
    });

    describe.each([
      {
        how: 'a re-read of pending',
        find: (c: DurableConsumers, k: string) => c.read(k, 'g', 'a', { count: 10, from: 'pending' }),
      },
      {
        how: 'a claim',
        find: (c: DurableConsumers, k: string) => c.claim(k, 'g', 'b', { count: 10, minIdleMs: 0 }),
      },
    ])('entries trimmed from the log while pending, found by $how', ({ find }) => {
      it('are reported as gone, once, and leave pending', { timeout: TEST_TIMEOUT_MS }, async () => {
        const k = key();
        await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
        await consumers.join(k, 'g', 'b', { start: { kind: 'retained' } });
        await appendMany(k, 4, 100);
        const held = await consumers.read(k, 'g', 'a', { count: 10, from: 'new' });
        expect(offsets(held.entries)).toEqual([1, 2, 3, 4]);
        await fixture.append(k, '{"n":5}', 2); // retention now keeps offsets 4 and 5 only
        const outcome = await find(consumers, k);
        expect(outcome.gone.map((g) => g.offset)).toEqual([1, 2, 3]);
        expect(outcome.gone.map((g) => g.id)).toEqual(held.entries.slice(0, 3).map((e) => e.id));
        expect(offsets(outcome.entries)).toEqual([4]);
        expect(outcome.entries[0]!.data).toBe('{"n":4}');
        // Reported once: they are no longer pending anywhere.
        const later = await consumers.claim(k, 'g', 'a', { count: 10, minIdleMs: 0 });
        expect(later.gone).toEqual([]);
        expect(offsets(later.entries)).toEqual([4]);
        expect(await consumers.ack(k, 'g', held.entries.map((e) => e.id))).toBe(1);
      });
    });

    it('reports a trimmed pending entry as gone when it is dead-lettered', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'g', 'a', { start: { kind: 'retained' } });
      await fixture.append(k, '{"n":1}', 100);
      const entry = (await consumers.read(k, 'g', 'a', { count: 1, from: 'new' })).entries[0]!;
      await fixture.append(k, '{"n":2}', 1);
      expect(await consumers.deadLetter(k, 'g', entry.id, 'max deliveries')).toBe('gone');
      expect(await consumers.ack(k, 'g', [entry.id])).toBe(0);
      expect((await consumers.deadLetters(k, { limit: 10 })).letters).toEqual([]);
    });

    it('refuses calls after close; close is idempotent', { timeout: TEST_TIMEOUT_MS }, async () => {
      const k = key();
      await consumers.join(k, 'g', 'a', { start: { kind: 'new' } });
      await consumers.close();
      await consumers.close();
      await expect(consumers.read(k, 'g', 'a', { count: 1, from: 'new' })).rejects.toThrow(/closed/);
      await expect(consumers.join(k, 'g', 'a', { start: { kind: 'new' } })).rejects.toThrow(/closed/);
    });
  });
}
