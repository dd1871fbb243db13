import { describe, expect, it } from 'vitest';
import type { BrokerPublication } from '../../src/engine/broker.js';
import { MemoryBroker } from '../../src/engine/memory-broker.js';
import { NotificationSequencer } from '../../src/engine/notification-sequencer.js';

/**
 * The sequencer over a real log (a MemoryBroker not subscribed to anything, so it notifies
 * nothing itself): the test plays the lossy feed by choosing which notifications to pass on.
 */
async function setup(historySize = 100) {
  const log = new MemoryBroker();
  await log.start({ onPublication: () => undefined });
  const delivered: Array<{ offset: number; epoch: string }> = [];
  const sequencer = new NotificationSequencer(
    (key, since, limit) => log.history(key, { since, limit }),
    (_key, publication, epoch) => delivered.push({ offset: publication.offset, epoch }),
    (error) => {
      throw error;
    },
  );
  const key = 'o/agent:seq';
  sequencer.track(key);
  const published: Array<{ publication: BrokerPublication; epoch: string }> = [];
  let count = 0;
  const append = async (n = 1) => {
    for (let i = 0; i < n; i++) {
      const outcome = await log.publish(key, String(++count), { historySize, historyTtlMs: 60_000 });
      published.push({ publication: { offset: outcome.offset, data: '' }, epoch: outcome.epoch });
    }
  };
  /** Passes on the notification of the latest publication with this offset (the current epoch's). */
  const notify = (offset: number) => {
    const p = published.findLast((x) => x.publication.offset === offset)!;
    sequencer.receive(key, p.publication, p.epoch);
  };
  const settle = () => new Promise((r) => setTimeout(r, 20));
  return { log, sequencer, delivered, key, append, notify, settle, published };
}

describe('NotificationSequencer', () => {
  it('passes an unbroken feed through and drops repeats', async () => {
    const s = await setup();
    await s.append(3);
    for (const offset of [1, 2, 2, 3, 1]) s.notify(offset);
    expect(s.delivered.map((d) => d.offset)).toEqual([1, 2, 3]);
  });

  it('fills a gap from the log before the notification that revealed it, and holds what arrives meanwhile', async () => {
    const s = await setup();
    await s.append(6);
    s.notify(1);
    s.notify(4); // 2 and 3 were lost
    s.notify(5); // arrives while the gap is being read
    s.notify(6);
    await s.settle();
    expect(s.delivered.map((d) => d.offset)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('starts from the position known at subscribe time', async () => {
    const s = await setup();
    await s.append(3);
    s.sequencer.initPosition(s.key, { offset: 1, epoch: s.published[0]!.epoch });
    s.notify(3);
    await s.settle();
    expect(s.delivered.map((d) => d.offset)).toEqual([2, 3]);
  });

  it('delivers what the log still has when the gap was trimmed: the jump stays visible downstream', async () => {
    const s = await setup(2);
    await s.append(1);
    s.notify(1);
    await s.append(5); // offsets 2..6, the log keeps 5 and 6
    s.notify(6);
    await s.settle();
    expect(s.delivered.map((d) => d.offset)).toEqual([1, 5, 6]);
  });

  it('passes a new epoch through as is (the data plane tells subscribers to resubscribe)', async () => {
    const s = await setup();
    await s.append(2);
    s.notify(1);
    s.notify(2);
    await s.log.removeHistory(s.key);
    await s.append(1);
    s.notify(1);
    await s.settle();
    expect(s.delivered.map((d) => d.offset)).toEqual([1, 2, 1]);
    expect(s.delivered[2]!.epoch).not.toBe(s.delivered[0]!.epoch);
  });

  it('catches up after a feed outage without waiting for the next notification', async () => {
    const s = await setup();
    await s.append(4);
    s.notify(1);
    s.sequencer.catchUp(s.key);
    await s.settle();
    expect(s.delivered.map((d) => d.offset)).toEqual([1, 2, 3, 4]);
  });

  it('ignores channels it does not track, and forgets on request', async () => {
    const s = await setup();
    await s.append(2);
    s.sequencer.forget(s.key);
    s.notify(1);
    expect(s.delivered).toEqual([]);
  });
});
