import { afterAll, describe, expect, it } from 'vitest';
import type { DurableConsumers, ReadOptions, ReadOutcome } from '../../src/engine/durable-consumers.js';
import { AcknowledgedDelivery, skipsOffsets } from '../../src/realtime/acknowledged-delivery.js';
import type { Connection } from '../../src/realtime/connection.js';
import type { DeliveryPolicy } from '../../src/realtime/delivery-policy.js';
import { RetryManager } from '../../src/realtime/retry-manager.js';
import { durableEngines, type DurableEngine } from '../support/durable-engines.js';
import { capturingLogger } from '../support/records-fixtures.js';

/**
 * Two readers of one session's acknowledged group (ADR 0046): a stale connection and the one
 * that resumed the session. Whatever the stale one takes must reach the live one — when it
 * closes with a read still running, and when it never says a word (its node died): the live
 * one sees the hole in the log's offsets and re-reads the member's pending list.
 */
const PREFIX = `apixtest-orphans-${process.pid}-${Date.now()}`;
/** Redelivery far away: nothing here may come back by a retry timer. */
const POLICY: DeliveryPolicy = { ackTimeoutMs: 60_000, baseMs: 60_000, factor: 2, capMs: 60_000, maxDeliveries: 5, window: 100 };

const { engines, cleanup } = durableEngines(PREFIX);
afterAll(cleanup);

/** The connection side of a delivery: what it sends, by offset. */
function recordingConnection(): { connection: Connection; offsets: number[] } {
  const offsets: number[] = [];
  const connection = {
    sendRaw: (frame: string) => void offsets.push((JSON.parse(frame) as { offset: number }).offset),
    sendFrame: () => undefined,
    markPositionsMoved: () => undefined,
  } as unknown as Connection;
  return { connection, offsets };
}

/** The engine, with reads held at a gate while `hold` is set (a read in flight at a chosen moment). */
/** The engine, counting the reads still running (so a test can wait until a reader is idle). */
function counted(durable: DurableConsumers): { durable: DurableConsumers; running: () => number } {
  let running = 0;
  const wrapper = Object.create(durable) as DurableConsumers;
  wrapper.read = async (key: string, group: string, member: string, options: ReadOptions): Promise<ReadOutcome> => {
    running += 1;
    try {
      return await durable.read(key, group, member, options);
    } finally {
      running -= 1;
    }
  };
  return { durable: wrapper, running: () => running };
}

function gated(durable: DurableConsumers): { durable: DurableConsumers; hold: () => () => void; reading: () => Promise<void> } {
  let gate: Promise<void> | undefined;
  let started: (() => void) | undefined;
  let startedPromise = new Promise<void>((r) => (started = r));
  const wrapper = Object.create(durable) as DurableConsumers;
  wrapper.read = async (key: string, group: string, member: string, options: ReadOptions): Promise<ReadOutcome> => {
    const outcome = await durable.read(key, group, member, options);
    started?.();
    if (gate) await gate;
    return outcome;
  };
  return {
    durable: wrapper,
    hold: () => {
      let open!: () => void;
      gate = new Promise<void>((r) => (open = r));
      startedPromise = new Promise<void>((r) => (started = r));
      return () => {
        gate = undefined;
        open();
      };
    },
    reading: () => startedPromise,
  };
}

async function until(condition: () => boolean, what: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A session's group of one on a fresh channel of the engine, and how to open readers of it. */
async function sessionGroup(engine: DurableEngine, name: string) {
  const { broker, durable } = engine;
  const key = `org${process.pid}/agent:${name}-${Date.now()}`;
  const member = `session-${name}`;
  const group = `a:${member}`;
  await durable.join(key, group, member, { start: { kind: 'new' } });
  const ctx = { retries: new RetryManager(), logger: capturingLogger().logger, observer: {} };
  return {
    key,
    group,
    member,
    publish: (n: number) => broker.publish(key, `{"type":"job","payload":${n}}`, { historySize: 100, historyTtlMs: 3_600_000 }),
    /** A reader of the group (through `through`, by default the engine itself), recording what it sends. */
    reader: (through: DurableConsumers = durable) => {
      const recorded = recordingConnection();
      const delivery = new AcknowledgedDelivery(recorded.connection, undefined, () => undefined, { key, channel: 'agent:x', group, member }, POLICY, { durable: through, ...ctx });
      return { delivery, offsets: recorded.offsets };
    },
    epoch: async () => (await broker.history(key, { limit: 0 })).position.epoch,
  };
}

describe('skipsOffsets', () => {
  const entries = (...offsets: number[]) => offsets.map((offset) => ({ id: `${offset}-1`, offset, data: '{}', deliveryCount: 1 }));
  it('sees a hole above the last offset and nothing else', () => {
    expect(skipsOffsets(entries(6, 7, 8), 5)).toBe(false);
    expect(skipsOffsets(entries(8, 9), 5)).toBe(true);
    expect(skipsOffsets(entries(3, 4, 6, 7), 5)).toBe(false); // pending re-reads below the last offset
    expect(skipsOffsets(entries(7, 6), 5)).toBe(false); // pending first, then new: order does not matter
    expect(skipsOffsets([], 5)).toBe(false);
  });
});

describe.each(engines)('two readers of one session group ($name engine)', ({ make }) => {
  it('a connection closed while its read runs reports what that read took, once it has landed', { timeout: 20_000 }, async () => {
    const engine = await make();
    try {
      const g = await sessionGroup(engine, 'orphan-read');
      const gate = gated(engine.durable);
      const stale = g.reader(gate.durable);
      stale.delivery.goLive({ offset: 0, epoch: await g.epoch() }, []);
      // The first read ('both') finds nothing; wait for it to end before holding the next one.
      await new Promise((r) => setTimeout(r, 100));
      for (let n = 1; n <= 3; n++) await g.publish(n);
      const release = gate.hold();
      stale.delivery.wake();
      await gate.reading(); // the read took 1..3 in the store; its reply has not reached the delivery
      let orphanedAt: number | undefined;
      stale.delivery.releaseOnClose(() => (orphanedAt = stale.offsets.length));
      stale.delivery.close();
      expect(orphanedAt).toBeUndefined(); // not before the read lands: an adopter would read too early
      release();
      await until(() => orphanedAt !== undefined, () => 'the orphan report after the read landed');
      expect(stale.offsets).toEqual([]); // closed: nothing sent

      // The subscription that resumed the session adopts them.
      const live = g.reader();
      live.delivery.goLive({ offset: 0, epoch: await g.epoch() }, []);
      await until(() => live.offsets.length === 3, () => `3 events, got ${JSON.stringify(live.offsets)}`);
      expect(live.offsets).toEqual([1, 2, 3]);
      live.delivery.close();
    } finally {
      await engine.close();
    }
  });

  it('entries another reader took without a word come back through the hole they leave in the offsets', { timeout: 20_000 }, async () => {
    const engine = await make();
    try {
      const g = await sessionGroup(engine, 'orphan-hole');
      const reads = counted(engine.durable);
      const live = g.reader(reads.durable);
      live.delivery.goLive({ offset: 0, epoch: await g.epoch() }, []);
      await g.publish(1);
      live.delivery.wake();
      // Event 1 delivered and no read of the live reader still running: the next entries are the stale reader's to take.
      await until(() => live.offsets.length === 1 && reads.running() === 0, () => 'event 1, then the live reader idle');
      // A stale reader of the same member (its node then dies: no release is ever announced).
      await g.publish(2);
      await g.publish(3);
      const taken = await engine.durable.read(g.key, g.group, g.member, { count: 10, from: 'new' });
      expect(taken.entries.map((e) => e.offset)).toEqual([2, 3]);
      await g.publish(4);
      live.delivery.wake();
      await until(() => live.offsets.length >= 4, () => `4 events, got ${JSON.stringify(live.offsets)}`);
      expect([...live.offsets].sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
      expect(live.delivery.inFlight).toBe(4);
      live.delivery.close();
    } finally {
      await engine.close();
    }
  });
});
