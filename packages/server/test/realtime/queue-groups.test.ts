import { ApiXError } from '@apix/protocol';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReadOutcome } from '../../src/engine/durable-consumers.js';
import { MemoryBroker } from '../../src/engine/memory-broker.js';
import { MemoryDurableConsumers } from '../../src/engine/memory-durable-consumers.js';
import { effectiveGroupIdleMs, type DeliveryPolicy } from '../../src/realtime/delivery-policy.js';
import { QueueGroups, type QueueGroupMember } from '../../src/realtime/queue-groups.js';
import { durableEngines } from '../support/durable-engines.js';
import { capturingLogger } from '../support/records-fixtures.js';

/**
 * The node's queue-group registry (ADR 0042) over the real durable-consumer engines: the claim
 * pass moves only idle entries, to a member with room, counting and logging entries the log
 * trimmed while they were pending (Redis: XAUTOCLAIM's deleted ids) without throwing; the caps
 * are taken and given back as members come and go.
 */
const PREFIX = `apixtest-qgunit-${process.pid}-${Date.now()}`;
/** Small numbers: the idle time is its floor, 10 + 10 + 1,000 ms. */
const POLICY: DeliveryPolicy = { ackTimeoutMs: 10, baseMs: 10, factor: 2, capMs: 10, maxDeliveries: 5, window: 10 };

const { engines, cleanup } = durableEngines(PREFIX);
afterAll(cleanup);

function fakeMember(key: string, name: string, room = 10): QueueGroupMember & { adopted: ReadOutcome[] } {
  const adopted: ReadOutcome[] = [];
  return { address: { key, channel: 'agent:q', group: 'q:w', member: name }, organizationId: 'org', room, adopted, adopt: (o) => void adopted.push(o), wake: () => undefined };
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(engines)('QueueGroups ($name engine)', ({ make }) => {
  it("claims a dead member's entries only after the idle time, and counts and logs those the log trimmed while pending", { timeout: 30_000 }, async () => {
    const { broker, durable, close } = await make();
    const { logger, lines } = capturingLogger();
    const groups = new QueueGroups(durable, { maxGroupsPerOrganization: 10, maxMembersPerGroup: 10 }, logger);
    const key = `org${process.pid}/agent:q-${Date.now()}`;
    const publish = (n: number, keepLast: number) => broker.publish(key, `{"type":"job","payload":${n}}`, { historySize: keepLast, historyTtlMs: 3_600_000 });
    try {
      await durable.join(key, 'q:w', 'dead', { start: { kind: 'new' } });
      await durable.join(key, 'q:w', 'live', { start: { kind: 'new' } });
      // The dead member was handed 1..5, then the log kept only the last 3 of 1..10: 1..5 are gone while pending.
      for (let n = 1; n <= 5; n++) await publish(n, 100);
      expect((await durable.read(key, 'q:w', 'dead', { from: 'new', count: 5 })).entries).toHaveLength(5);
      for (let n = 6; n <= 10; n++) await publish(n, 3);
      // ... and 8..10 are pending under it with their bodies.
      expect((await durable.read(key, 'q:w', 'dead', { from: 'new', count: 10 })).entries.map((e) => e.offset)).toEqual([8, 9, 10]);
      const heldAt = performance.now();

      const live = fakeMember(key, 'live');
      groups.add(live, POLICY);
      await until(() => live.adopted.some((o) => o.entries.length > 0) && groups.stats.gone === 5, 'the claim pass');
      const movedAt = performance.now();
      expect(movedAt - heldAt).toBeGreaterThanOrEqual(effectiveGroupIdleMs(POLICY));
      const claimed = live.adopted.flatMap((o) => o.entries);
      expect(claimed.map((e) => [e.offset, e.deliveryCount])).toEqual([[8, 2], [9, 2], [10, 2]]);
      expect(groups.stats.claimed).toBe(3);
      const warning = lines.find((l) => l.gone === 5);
      expect(warning).toMatchObject({ channelKey: key, group: 'q:w', offsets: [1, 2, 3, 4, 5] });
      // Nothing of it is pending any more: the gone entries were dropped from the pending list.
      expect((await durable.claim(key, 'q:w', 'live', { minIdleMs: 0, count: 10 })).gone).toEqual([]);
      groups.remove(live);
      expect(groups.size).toBe(0);
    } finally {
      groups.close();
      await close();
    }
  });
});

describe('QueueGroups caps', () => {
  it('counts groups per organisation and members per group on the node, and gives places back as members leave', () => {
    const durable = new MemoryDurableConsumers(new MemoryBroker());
    const groups = new QueueGroups(durable, { maxGroupsPerOrganization: 1, maxMembersPerGroup: 2 }, capturingLogger().logger);
    const quota = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        return error instanceof ApiXError ? [error.code, (error.details as { quota: string }).quota] : error;
      }
      return undefined;
    };
    try {
      const a = fakeMember('k1', 'a');
      expect(quota(() => groups.check('org', [{ key: 'k1', group: 'q:w' }]))).toBeUndefined();
      groups.add(a, POLICY);
      const b = fakeMember('k1', 'b');
      groups.add(b, POLICY);
      expect(quota(() => groups.check('org', [{ key: 'k1', group: 'q:w' }]))).toEqual(['APIX_ERR_QUOTA_EXCEEDED', 'queueGroupMembers']);
      expect(quota(() => groups.check('org', [{ key: 'k2', group: 'q:w' }]))).toEqual(['APIX_ERR_QUOTA_EXCEEDED', 'queueGroups']);
      expect(quota(() => groups.check('other-org', [{ key: 'k2', group: 'q:w' }]))).toBeUndefined();
      groups.remove(a);
      expect(quota(() => groups.check('org', [{ key: 'k1', group: 'q:w' }]))).toBeUndefined();
      groups.remove(b);
      expect(groups.size).toBe(0);
      expect(quota(() => groups.check('org', [{ key: 'k2', group: 'q:w' }]))).toBeUndefined();
    } finally {
      groups.close();
    }
  });
});
