import { afterAll, describe, expect, it } from 'vitest';
import type { DurableConsumers, DurableEntryId, ReadOptions, ReadOutcome } from '../../src/engine/durable-consumers.js';
import type { Connection } from '../../src/realtime/connection.js';
import type { DeliveryPolicy } from '../../src/realtime/delivery-policy.js';
import { GroupDelivery } from '../../src/realtime/group-delivery.js';
import { QueueGroups } from '../../src/realtime/queue-groups.js';
import { RetryManager } from '../../src/realtime/retry-manager.js';
import { durableEngines } from '../support/durable-engines.js';
import { capturingLogger } from '../support/records-fixtures.js';

/**
 * A queue-group member that leaves (ADR 0048) gives back everything it holds, including what a
 * store call that was running when it left hands it afterwards: a read that lands after the
 * close, and a redelivery (retry) that takes the entries back under the member after close had
 * released them. Checked on the real engines: right after, another member's claim with a
 * one-minute idle time takes every held entry.
 */
const PREFIX = `apixtest-leave-${process.pid}-${Date.now()}`;
/** A quick redelivery, so a retry is due within the test; the group idle time is far away. */
const POLICY: DeliveryPolicy = { ackTimeoutMs: 50, baseMs: 10, factor: 2, capMs: 10, maxDeliveries: 10, window: 100, groupIdleMs: 60_000 };
const LONG_IDLE_MS = 60_000;

const { engines, cleanup } = durableEngines(PREFIX);
afterAll(cleanup);

function connection(): Connection {
  return {
    principal: { organizationId: 'org' },
    sendRaw: () => undefined,
    sendFrame: () => undefined,
    markPositionsMoved: () => undefined,
  } as unknown as Connection;
}

/** The engine itself, with one call held at a gate (every other call goes straight to it, on the engine object). */
function withCall(durable: DurableConsumers, override: Partial<DurableConsumers>): DurableConsumers {
  return new Proxy(durable, {
    get: (target, property, receiver) => {
      const own = (override as Record<PropertyKey, unknown>)[property];
      if (own !== undefined) return own;
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A gate in front of one engine call: `held()` resolves once a call waits at it, `open()` lets it through. */
function gate(): { wait: () => Promise<void>; held: () => Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  let arrived!: () => void;
  const waiting = new Promise<void>((r) => (arrived = r));
  return {
    wait: () => {
      arrived();
      return opened;
    },
    held: () => waiting,
    open,
  };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let seq = 0;

describe.each(engines)('a queue-group member that leaves ($name engine)', ({ make }) => {
  async function setup(wrap: (durable: DurableConsumers) => DurableConsumers) {
    const engine = await make();
    const durable = wrap(engine.durable);
    const key = `org${process.pid}/agent:leave-${Date.now()}-${++seq}`;
    const groups = new QueueGroups(durable, { maxGroupsPerOrganization: 10, maxMembersPerGroup: 10 }, capturingLogger().logger);
    const retries = new RetryManager();
    await engine.durable.join(key, 'q:w', 'leaver', { start: { kind: 'new' } });
    await engine.durable.join(key, 'q:w', 'other', { start: { kind: 'new' } });
    const { position } = await engine.broker.history(key, { limit: 0 });
    const newMember = () =>
      new GroupDelivery(
        connection(),
        () => undefined,
        { key, channel: 'agent:leave', group: 'q:w', member: 'leaver' },
        POLICY,
        { durable, retries, logger: capturingLogger().logger, observer: {} },
        groups,
      );
    const member = newMember();
    const publish = async (n: number) => {
      for (let i = 1; i <= n; i++) await engine.broker.publish(key, `{"type":"job","payload":${i}}`, { historySize: 100, historyTtlMs: 3_600_000 });
    };
    const claimedByOther = async () => (await engine.durable.claim(key, 'q:w', 'other', { minIdleMs: LONG_IDLE_MS, count: 100 })).entries.map((e) => e.offset);
    const done = async () => {
      member.close();
      groups.close();
      retries.close();
      await engine.close();
    };
    return { key, member, groups, position, publish, claimedByOther, done, durable: engine.durable, newMember };
  }

  it('releases what a read that was running at the unsubscribe hands it afterwards', { timeout: 20_000 }, async () => {
    const readGate = gate();
    let gateReads = false;
    const { member, groups, position, publish, claimedByOther, done } = await setup((durable) => {
      return withCall(durable, {
        read: async (key: string, group: string, name: string, options: ReadOptions): Promise<ReadOutcome> => {
          const outcome = await durable.read(key, group, name, options);
          if (gateReads) await readGate.wait();
          return outcome;
        },
      });
    });
    try {
      await publish(3);
      gateReads = true;
      member.goLive(position, []);
      await readGate.held(); // the store handed the three entries to the leaver; the delivery has not seen them yet
      member.leave();
      member.close();
      readGate.open();
      await until(async () => (await groups.settled(), groups.stats.released === 3), 'the late read to be released');
      expect(await claimedByOther()).toEqual([1, 2, 3]);
    } finally {
      await done();
    }
  });

  it('does not release what a late read of the old membership took once the session is a member again: those are the new membership\'s own', { timeout: 20_000 }, async () => {
    const readGate = gate();
    let gateReads = false;
    let landed = false;
    const { key, member, groups, position, publish, claimedByOther, done, newMember } = await setup((durable) =>
      withCall(durable, {
        read: async (k: string, group: string, name: string, options: ReadOptions): Promise<ReadOutcome> => {
          const outcome = await durable.read(k, group, name, options);
          if (gateReads) {
            gateReads = false;
            await readGate.wait();
            landed = true;
          }
          return outcome;
        },
      }),
    );
    try {
      await publish(3);
      gateReads = true;
      member.goLive(position, []);
      await readGate.held(); // the old membership's read took the three entries and has not landed
      member.leave();
      member.close();
      await groups.left(key, 'q:w', 'leaver');
      const again = newMember(); // the session subscribed again (same member name)
      readGate.open();
      await until(() => landed, 'the late read to land');
      await new Promise((r) => setTimeout(r, 20)); // its continuation hands the entries over
      await groups.settled();
      expect(groups.stats.released).toBe(0);
      expect(await claimedByOther()).toEqual([]);
      // The new membership's first read finds them as its own pending entries.
      again.goLive(position, []);
      await until(() => again.inFlight === 3, 'the new membership to hold the three events');
      again.close();
    } finally {
      await done();
    }
  });

  it('tells a new membership of the same session when the release steps have run, so it never re-reads what is being given away', { timeout: 20_000 }, async () => {
    const releaseGate = gate();
    const { key, member, groups, position, publish, claimedByOther, done, durable } = await setup((engine) =>
      withCall(engine, {
        release: async (k: string, group: string, name: string, ids: readonly DurableEntryId[]) => {
          await releaseGate.wait();
          return engine.release(k, group, name, ids);
        },
      }),
    );
    try {
      await publish(3);
      member.goLive(position, []);
      await until(() => member.inFlight === 3, 'the leaver to hold three events');
      member.leave();
      member.close();
      await releaseGate.held();
      let left = false;
      const leftPromise = groups.left(key, 'q:w', 'leaver').then(() => (left = true));
      await new Promise((r) => setTimeout(r, 50));
      // Still the member's: a join now would read them as its own pending entries.
      expect(left).toBe(false);
      releaseGate.open();
      await leftPromise;
      // After it: the same session's next read finds nothing of them, the other member claims them.
      expect((await durable.read(key, 'q:w', 'leaver', { count: 10, from: 'pending' })).entries).toEqual([]);
      expect(await claimedByOther()).toEqual([1, 2, 3]);
      // Nobody leaving: resolves at once.
      await groups.left(key, 'q:w', 'someone-else');
    } finally {
      await done();
    }
  });

  it('releases again what a redelivery that was running at the unsubscribe takes back', { timeout: 20_000 }, async () => {
    const retryGate = gate();
    let resolveRetried!: (n: number) => void;
    const retried = new Promise<number>((r) => (resolveRetried = r));
    const { member, groups, position, publish, claimedByOther, done } = await setup((durable) => {
      return withCall(durable, {
        retry: async (key: string, group: string, name: string, ids: readonly DurableEntryId[]): Promise<ReadOutcome> => {
          // Held before it reaches the store: it lands after the close released the entries.
          await retryGate.wait();
          const outcome = await durable.retry(key, group, name, ids);
          resolveRetried(outcome.entries.length);
          return outcome;
        },
      });
    });
    try {
      await publish(3);
      member.goLive(position, []);
      await until(() => member.inFlight === 3, 'the leaver to hold three events');
      await retryGate.held(); // their redelivery came due and waits
      member.leave();
      member.close();
      await groups.settled();
      expect(groups.stats.released).toBe(3);
      retryGate.open();
      // The retry took the due ones back under the leaver; handed over again, the other member claims them at once.
      const claimed = new Set<number>();
      await until(async () => {
        await groups.settled();
        for (const offset of await claimedByOther()) claimed.add(offset);
        return claimed.size === 3;
      }, 'every held entry to be claimable by the other member');
      expect(await retried).toBeGreaterThan(0);
      expect(groups.stats.released).toBe(3 + (await retried));
    } finally {
      await done();
    }
  });
});
