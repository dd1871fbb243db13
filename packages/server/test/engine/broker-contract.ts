import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Broker, BrokerPublication, StreamPosition } from '../../src/engine/broker.js';
import { judgeRecovery } from '../../src/engine/stream-recovery.js';

const retention = { historySize: 100, historyTtlMs: 60_000 };

/** Records what a broker notifies, per channel key. */
class Recorder {
  readonly received = new Map<string, Array<BrokerPublication & { epoch: string }>>();
  onPublication(key: string, publication: BrokerPublication, epoch: string): void {
    const list = this.received.get(key) ?? [];
    list.push({ ...publication, epoch });
    this.received.set(key, list);
  }
  offsets(key: string): number[] {
    return (this.received.get(key) ?? []).map((p) => p.offset);
  }
}

const until = async (check: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/**
 * The Broker contract, run over every implementation (memory now, Redis with the cluster
 * engine). Keys are unique per test so implementations with shared state can't leak
 * between cases.
 */
export function describeBrokerContract(name: string, create: () => Promise<Broker>): void {
  describe(`Broker contract: ${name}`, () => {
    let broker: Broker;
    let recorder: Recorder;
    let n = 0;
    const key = () => `org${process.pid}/agent:contract-${Date.now()}-${++n}`;

    beforeEach(async () => {
      broker = await create();
      recorder = new Recorder();
      await broker.start(recorder);
    });
    afterEach(() => broker.close());

    it('numbers publications from 1 within one epoch and returns the position', async () => {
      const k = key();
      const a = await broker.publish(k, '{"n":1}', retention);
      const b = await broker.publish(k, '{"n":2}', retention);
      expect(a).toMatchObject({ offset: 1, duplicate: false });
      expect(b).toMatchObject({ offset: 2, epoch: a.epoch, duplicate: false });
      expect(a.epoch).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    });

    it('notifies subscribed channels only, in offset order, with the stored data', async () => {
      const watched = key();
      const unwatched = key();
      await broker.subscribe(watched);
      for (let i = 1; i <= 50; i++) {
        await broker.publish(watched, `{"n":${i}}`, retention);
        await broker.publish(unwatched, `{"n":${i}}`, retention);
      }
      await until(() => recorder.offsets(watched).length === 50);
      expect(recorder.offsets(watched)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(recorder.received.get(watched)![9]!.data).toBe('{"n":10}');
      expect(recorder.offsets(unwatched)).toEqual([]);
    });

    it('stops notifying after unsubscribe', async () => {
      const k = key();
      await broker.subscribe(k);
      await broker.publish(k, '1', retention);
      await until(() => recorder.offsets(k).length === 1);
      await broker.unsubscribe(k);
      await broker.publish(k, '2', retention);
      await new Promise((r) => setTimeout(r, 50));
      expect(recorder.offsets(k)).toEqual([1]);
    });

    it('keeps concurrent publishes gap-free and notified in order', async () => {
      const k = key();
      await broker.subscribe(k);
      const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => broker.publish(k, String(i), retention)));
      expect(outcomes.map((o) => o.offset).sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      await until(() => recorder.offsets(k).length === 200);
      expect(recorder.offsets(k)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    });

    it('serves history since a position, the latest N, and the position alone', async () => {
      const k = key();
      let epoch = '';
      for (let i = 1; i <= 10; i++) epoch = (await broker.publish(k, String(i), retention)).epoch;
      const since = await broker.history(k, { since: { offset: 7, epoch }, limit: 100 });
      expect(since.publications.map((p) => p.offset)).toEqual([8, 9, 10]);
      expect(since.position).toEqual({ offset: 10, epoch });
      const latest = await broker.history(k, { limit: 3 });
      expect(latest.publications.map((p) => p.data)).toEqual(['8', '9', '10']);
      const positionOnly = await broker.history(k, { limit: 0 });
      expect(positionOnly).toEqual({ publications: [], position: { offset: 10, epoch } });
      const limited = await broker.history(k, { since: { offset: 0, epoch }, limit: 4 });
      expect(limited.publications.map((p) => p.offset)).toEqual([1, 2, 3, 4]);
    });

    it('trims by count, and recovery past the trim is judged incomplete with the missed count', async () => {
      const k = key();
      let epoch = '';
      for (let i = 1; i <= 20; i++) epoch = (await broker.publish(k, String(i), { historySize: 5, historyTtlMs: 60_000 })).epoch;
      const slice = await broker.history(k, { since: { offset: 3, epoch }, limit: 100 });
      expect(slice.publications.map((p) => p.offset)).toEqual([16, 17, 18, 19, 20]);
      expect(judgeRecovery({ offset: 3, epoch }, slice)).toEqual({ complete: false, missed: 12 });
      const boundary = await broker.history(k, { since: { offset: 15, epoch }, limit: 100 });
      expect(judgeRecovery({ offset: 15, epoch }, boundary)).toEqual({ complete: true });
    });

    it('returns the first position for a repeated idempotency key and appends nothing', async () => {
      const k = key();
      const options = { ...retention, idempotencyKey: 'same', idempotencyTtlMs: 60_000 };
      const first = await broker.publish(k, 'a', options);
      const again = await broker.publish(k, 'a', options);
      expect(again).toEqual({ ...first, duplicate: true });
      const other = await broker.publish(k, 'b', { ...options, idempotencyKey: 'other' });
      expect(other.offset).toBe(first.offset + 1);
      expect((await broker.history(k, { limit: 10 })).publications).toHaveLength(2);
    });

    it('starts a new epoch after removeHistory, so old positions cannot be mistaken for new ones', async () => {
      const k = key();
      const before = await broker.publish(k, '1', retention);
      await broker.removeHistory(k);
      const after = await broker.publish(k, '1', retention);
      expect(after.offset).toBe(1);
      expect(after.epoch).not.toBe(before.epoch);
      const slice = await broker.history(k, { since: { offset: 1, epoch: before.epoch }, limit: 10 });
      expect(judgeRecovery({ offset: 1, epoch: before.epoch }, slice).complete).toBe(false);
    });

    it('keeps channels apart', async () => {
      const a = key();
      const b = key();
      await broker.publish(a, 'a1', retention);
      await broker.publish(b, 'b1', retention);
      await broker.publish(a, 'a2', retention);
      expect((await broker.history(a, { limit: 10 })).publications.map((p) => p.data)).toEqual(['a1', 'a2']);
      expect((await broker.history(b, { limit: 10 })).publications.map((p) => p.data)).toEqual(['b1']);
    });
    describe('recovery from a position (history size 5, 20 published)', () => {
      // [name, since (epoch 'current' is replaced by the stream's), expected offsets, expected judgement]
      const table: Array<[string, { offset: number; epoch: 'current' | 'foreign' }, number[], ReturnType<typeof judgeRecovery>]> = [
        ['at the head', { offset: 20, epoch: 'current' }, [], { complete: true }],
        ['in the middle', { offset: 17, epoch: 'current' }, [18, 19, 20], { complete: true }],
        ['exactly at the retention boundary', { offset: 15, epoch: 'current' }, [16, 17, 18, 19, 20], { complete: true }],
        ['one past the boundary (trimmed)', { offset: 14, epoch: 'current' }, [16, 17, 18, 19, 20], { complete: false, missed: 1 }],
        ['long trimmed', { offset: 3, epoch: 'current' }, [16, 17, 18, 19, 20], { complete: false, missed: 12 }],
        ['from the very start, trimmed', { offset: 0, epoch: 'current' }, [16, 17, 18, 19, 20], { complete: false, missed: 15 }],
        ['ahead of the stream', { offset: 50, epoch: 'current' }, [], { complete: false }],
        ['from a foreign epoch', { offset: 10, epoch: 'foreign' }, [16, 17, 18, 19, 20], { complete: false }],
      ];
      it.each(table)('%s', async (_name, position, offsets, judgement) => {
        const k = key();
        let epoch = '';
        for (let i = 1; i <= 20; i++) epoch = (await broker.publish(k, String(i), { historySize: 5, historyTtlMs: 60_000 })).epoch;
        const since: StreamPosition = { offset: position.offset, epoch: position.epoch === 'current' ? epoch : 'someOtherEpoch0' };
        const slice = await broker.history(k, { since, limit: 100 });
        expect(slice.position).toEqual({ offset: 20, epoch });
        expect(slice.publications.map((p) => p.offset)).toEqual(offsets);
        expect(slice.publications.map((p) => p.data)).toEqual(offsets.map(String));
        expect(judgeRecovery(since, slice)).toEqual(judgement);
      });

      const malformed: Array<[string, unknown]> = [
        ['negative offset', { offset: -1, epoch: 'e' }],
        ['fractional offset', { offset: 1.5, epoch: 'e' }],
        ['NaN offset', { offset: Number.NaN, epoch: 'e' }],
        ['unsafe offset', { offset: 2 ** 60, epoch: 'e' }],
        ['empty epoch', { offset: 1, epoch: '' }],
        ['epoch with a space', { offset: 1, epoch: 'a b' }],
        ['epoch with a colon', { offset: 1, epoch: 'a:b' }],
        ['epoch too long', { offset: 1, epoch: 'x'.repeat(65) }],
        ['epoch not a string', { offset: 1, epoch: 42 }],
      ];
      it.each(malformed)('fails closed on a malformed position: %s', async (_name, since) => {
        const k = key();
        await broker.publish(k, '1', retention);
        await expect(broker.history(k, { since: since as StreamPosition, limit: 10 })).rejects.toMatchObject({ code: 'APIX_ERR_POSITION_INVALID' });
      });
    });

    it('drops publications older than the history age, on publish and on read', async () => {
      const k = key();
      const options = { historySize: 100, historyTtlMs: 400 };
      await broker.publish(k, '1', options);
      await new Promise((r) => setTimeout(r, 600));
      const second = await broker.publish(k, '2', options);
      expect((await broker.history(k, { limit: 10 })).publications.map((p) => p.data)).toEqual(['2']);
      await new Promise((r) => setTimeout(r, 600));
      const empty = await broker.history(k, { limit: 10 });
      expect(empty.publications).toEqual([]);
      expect(empty.position).toEqual({ offset: 2, epoch: second.epoch }); // age trims entries, not the stream
    });

    it('keeps no history with size 0 but still numbers and notifies', async () => {
      const k = key();
      await broker.subscribe(k);
      const a = await broker.publish(k, '1', { historySize: 0, historyTtlMs: 60_000 });
      const b = await broker.publish(k, '2', { historySize: 0, historyTtlMs: 60_000 });
      expect([a.offset, b.offset]).toEqual([1, 2]);
      expect((await broker.history(k, { limit: 10 })).publications).toEqual([]);
      await until(() => recorder.offsets(k).length === 2);
    });

    it('stamps each publication with its append time, in history and notifications', async () => {
      const k = key();
      await broker.subscribe(k);
      const before = Date.now();
      await broker.publish(k, '1', retention);
      const after = Date.now();
      const [stored] = (await broker.history(k, { limit: 1 })).publications;
      // Same machine, possibly another clock source (Redis TIME): a second of slack.
      expect(stored!.publishedAt).toBeGreaterThanOrEqual(before - 1_000);
      expect(stored!.publishedAt).toBeLessThanOrEqual(after + 1_000);
      await until(() => recorder.offsets(k).length === 1);
      expect(recorder.received.get(k)![0]!.publishedAt).toBe(stored!.publishedAt);
    });

    describe('idempotency', () => {
      it('within its window: the first position, nothing appended, nothing notified', async () => {
        const k = key();
        await broker.subscribe(k);
        const options = { ...retention, idempotencyKey: 'retry-me', idempotencyTtlMs: 60_000 };
        const first = await broker.publish(k, 'a', options);
        await broker.publish(k, 'x', retention);
        const again = await broker.publish(k, 'a', options);
        expect(again).toEqual({ ...first, duplicate: true });
        await until(() => recorder.offsets(k).length === 2);
        await new Promise((r) => setTimeout(r, 50));
        expect(recorder.offsets(k)).toEqual([1, 2]);
        expect((await broker.history(k, { limit: 10 })).publications.map((p) => p.data)).toEqual(['a', 'x']);
      });

      it('after its window: appended again as a new publication', async () => {
        const k = key();
        const options = { ...retention, idempotencyKey: 'short', idempotencyTtlMs: 100 };
        const first = await broker.publish(k, 'a', options);
        await new Promise((r) => setTimeout(r, 400));
        const later = await broker.publish(k, 'a', options);
        expect(later).toMatchObject({ offset: first.offset + 1, epoch: first.epoch, duplicate: false });
      });

      it('keys are per channel', async () => {
        const a = key();
        const b = key();
        const options = { ...retention, idempotencyKey: 'shared', idempotencyTtlMs: 60_000 };
        await broker.publish(a, '1', options);
        expect((await broker.publish(b, '1', options)).duplicate).toBe(false);
      });
    });

    it('notifies publications of the new epoch after removeHistory while subscribed', async () => {
      const k = key();
      await broker.subscribe(k);
      const old = await broker.publish(k, '1', retention);
      await broker.publish(k, '2', retention);
      await until(() => recorder.offsets(k).length === 2);
      await broker.removeHistory(k);
      const fresh = await broker.publish(k, 'new', retention);
      expect(fresh.epoch).not.toBe(old.epoch);
      await until(() => recorder.offsets(k).length === 3);
      expect(recorder.received.get(k)![2]).toMatchObject({ offset: 1, epoch: fresh.epoch, data: 'new' });
    });

    it('close stops notifications and may be called twice', async () => {
      const k = key();
      await broker.subscribe(k);
      await broker.publish(k, '1', retention);
      await until(() => recorder.offsets(k).length === 1);
      await broker.close();
      await broker.publish(k, '2', retention).catch((error: unknown) => {
        expect(error).toMatchObject({ code: 'APIX_ERR_UNAVAILABLE' });
      });
      await new Promise((r) => setTimeout(r, 100));
      expect(recorder.offsets(k)).toEqual([1]);
      await broker.close();
    });
  });
}
