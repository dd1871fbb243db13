import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { DurableConsumers, DurableEntryId, ReadOutcome } from '../../src/engine/durable-consumers.js';
import { MemoryBroker } from '../../src/engine/memory-broker.js';
import { MemoryDurableConsumers } from '../../src/engine/memory-durable-consumers.js';
import { RedisBroker } from '../../src/engine/redis-broker.js';
import { RedisDurableConsumers } from '../../src/engine/redis-durable-consumers.js';
import { deleteKeysWithPrefix } from '../cluster/redis-processes.js';

/**
 * Model-based check beside the contract suite: random sequences of operations (appends with
 * trimming, reads, acks, claims, retries, dead letters, redeliveries, releases, member removals,
 * group listings) run on the memory engine
 * and on Redis side by side, and every answer must be the same once ids are abstracted away.
 * The contract suite states the rules case by case; this one finds the interleavings nobody
 * wrote a case for.
 */

const REDIS_URL = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `apixtest-durable-eq-${process.pid}-${Date.now()}`;
const MEMBERS = ['a', 'b', 'c'] as const;

type Op =
  | { kind: 'append'; keepLast: number | undefined }
  | { kind: 'read'; member: number; from: 'pending' | 'new' | 'both'; count: number }
  | { kind: 'ack'; picks: number[] }
  | { kind: 'claim'; member: number }
  | { kind: 'retry'; member: number; picks: number[] }
  | { kind: 'deadLetter'; pick: number }
  | { kind: 'redeliver'; pick: number }
  | { kind: 'release'; member: number; picks: number[] }
  | { kind: 'removeMember'; member: number }
  /** The group's members that hold log entries, with how many (idle times differ by engine and are not compared). */
  | { kind: 'listGroups' }
  /** The log is lost (new epoch), one entry is appended, every member joins again. */
  | { kind: 'loseLog' };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), keepLast: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined, freq: 4 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), member: fc.nat(2), from: fc.constantFrom('pending' as const, 'new' as const, 'both' as const), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ack' as const), picks: fc.array(fc.nat(30), { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('claim' as const), member: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retry' as const), member: fc.nat(2), picks: fc.array(fc.nat(30), { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deadLetter' as const), pick: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('redeliver' as const), pick: fc.nat(10) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), member: fc.nat(2), picks: fc.array(fc.nat(30), { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removeMember' as const), member: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('listGroups' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('loseLog' as const) }) },
);

/** One engine under test, with the ids it handed out in first-seen order (same order on both engines when they agree). */
interface Side {
  readonly consumers: DurableConsumers;
  append(data: string, keepLast: number | undefined): Promise<number>;
  removeLog(): Promise<void>;
  readonly ids: DurableEntryId[];
}

const seen = (side: Side, outcome: ReadOutcome) => {
  for (const e of outcome.entries) if (!side.ids.includes(e.id)) side.ids.push(e.id);
};

const normal = (outcome: ReadOutcome) => ({
  entries: outcome.entries.map((e) => [e.offset, e.data, e.deliveryCount, e.id.startsWith('r')]),
  gone: outcome.gone.map((g) => g.offset),
});

/** An operation's answer, or the name of the error it rejected with (both engines must agree on either). */
async function answer(side: Side, key: string, op: Op, n: number): Promise<unknown> {
  try {
    return await step(side, key, op, n);
  } catch (error) {
    return { rejected: error instanceof Error ? error.name : String(error) };
  }
}

async function step(side: Side, key: string, op: Op, n: number): Promise<unknown> {
  const c = side.consumers;
  const pick = (i: number) => side.ids[i % Math.max(side.ids.length, 1)] ?? 'none';
  switch (op.kind) {
    case 'append':
      return side.append(`{"n":${n}}`, op.keepLast);
    case 'read': {
      const outcome = await c.read(key, 'g', MEMBERS[op.member]!, { count: op.count, from: op.from });
      seen(side, outcome);
      return normal(outcome);
    }
    case 'ack':
      return c.ack(key, 'g', op.picks.map(pick));
    case 'claim': {
      const outcome = await c.claim(key, 'g', MEMBERS[op.member]!, { minIdleMs: 0, count: 100 });
      seen(side, outcome);
      return normal(outcome);
    }
    case 'retry': {
      const outcome = await c.retry(key, 'g', MEMBERS[op.member]!, [...new Set(op.picks.map(pick))]);
      seen(side, outcome);
      return normal(outcome);
    }
    case 'deadLetter':
      return c.deadLetter(key, 'g', pick(op.pick), `reason ${op.pick}`);
    case 'redeliver': {
      const letters = (await c.deadLetters(key, { limit: 100 })).letters;
      const letter = letters[op.pick % Math.max(letters.length, 1)];
      return letter ? c.redeliver(key, letter.id) : 'no letters';
    }
    case 'release': {
      const outcome = await c.release(key, 'g', MEMBERS[op.member]!, [...new Set(op.picks.map(pick))]);
      return { released: outcome.released, gone: outcome.gone.map((g) => g.offset) };
    }
    case 'removeMember':
      return c.removeMember(key, 'g', MEMBERS[op.member]!);
    case 'listGroups':
      return (await c.listGroups(key, { prefix: '', limit: 10 })).map((g) => [g.group, g.members.filter((m) => m.pending > 0).map((m) => [m.member, m.pending])]);
    case 'loseLog': {
      await side.removeLog();
      await side.append(`{"n":${n}}`, undefined);
      const joins = [];
      for (const m of MEMBERS) joins.push(await c.join(key, 'g', m, { start: { kind: 'retained' } }));
      return joins;
    }
  }
}

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });

const redisBroker = new RedisBroker({ url: REDIS_URL, prefix: PREFIX });

beforeAll(() => redisBroker.start({ onPublication: () => undefined }));
afterAll(async () => {
  await redis.quit();
  await redisBroker.close();
  await deleteKeysWithPrefix(REDIS_URL, PREFIX);
});

let run = 0;
/** Runs `ops` on both engines side by side; every answer (and the dead letters at the end) must be the same. */
async function answerAlike(ops: Op[]): Promise<void> {
  const key = `org${process.pid}/agent:eq-${++run}-${Date.now()}`;
  const broker = new MemoryBroker();
  const memory: Side = {
    consumers: new MemoryDurableConsumers(broker),
    append: async (data, keepLast) => (await broker.publish(key, data, { historySize: keepLast ?? 10_000, historyTtlMs: 3_600_000 })).offset,
    removeLog: () => broker.removeHistory(key),
    ids: [],
  };
  const redisConsumers = new RedisDurableConsumers({ redis, broker: redisBroker, prefix: PREFIX });
  const onRedis: Side = {
    consumers: redisConsumers,
    append: async (data, keepLast) =>
      (await redisBroker.publish(key, data, { historySize: keepLast ?? 10_000, historyTtlMs: 3_600_000 })).offset,
    removeLog: () => redisBroker.removeHistory(key),
    ids: [],
  };
  try {
    for (const side of [memory, onRedis]) {
      for (const m of MEMBERS) await side.consumers.join(key, 'g', m, { start: { kind: 'retained' } });
    }
    for (const [i, op] of ops.entries()) {
      const [a, b] = [await answer(memory, key, op, i), await answer(onRedis, key, op, i)];
      expect({ step: i, op, answer: b }).toEqual({ step: i, op, answer: a });
    }
    const letters = async (side: Side) =>
      (await side.consumers.deadLetters(key, { limit: 100 })).letters.map((l) => [l.group, l.offset, l.data, l.reason, l.deliveryCount]);
    expect(await letters(onRedis)).toEqual(await letters(memory));
  } finally {
    await memory.consumers.close();
    await broker.close();
    await redisConsumers.close();
  }
}

describe('DurableConsumers: memory and Redis answer alike', () => {
  // Release and member removal (ADR 0048): a released entry leaves the member's pending list (an
  // unpinned run of the property below caught a memory engine that kept it there), is claimed
  // with its count, and a member goes only once it holds nothing.
  it('for release and member removal', { timeout: 20_000 }, async () => {
    await answerAlike([
      { kind: 'append', keepLast: undefined },
      { kind: 'read', member: 0, from: 'new', count: 1 },
      { kind: 'release', member: 0, picks: [0] },
      { kind: 'read', member: 0, from: 'pending', count: 1 },
      { kind: 'listGroups' },
      { kind: 'removeMember', member: 0 },
      { kind: 'claim', member: 1 },
      { kind: 'removeMember', member: 1 },
      { kind: 'release', member: 1, picks: [0] },
      { kind: 'ack', picks: [0] },
      { kind: 'removeMember', member: 1 },
      { kind: 'listGroups' },
    ]);
  });

  it('for random operation sequences', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 30 }), answerAlike),
      {
        // Random every run (fast-check prints the seed and path of a failure to replay it); the
        // counterexamples found so far are kept below as fixed examples.
        numRuns: 200,
        // Found by this property: ids handed out before a lost log must not name entries of the new one.
        examples: [
          [
            [
              { kind: 'append', keepLast: undefined },
              { kind: 'read', member: 0, from: 'both', count: 1 },
              { kind: 'loseLog' },
              { kind: 'read', member: 0, from: 'new', count: 1 },
              { kind: 'retry', member: 0, picks: [0] },
              { kind: 'read', member: 0, from: 'pending', count: 1 },
            ],
          ],
          // Found by this property (CI, seed 1794381899): a lost log whose first new entry fell in
          // the same millisecond as an old one reused its Redis id 1-<ms>, so a dead letter of the
          // old id took the new entry.
          [
            [
              { kind: 'append', keepLast: 3 },
              { kind: 'read', member: 2, from: 'both', count: 1 },
              { kind: 'loseLog' },
              { kind: 'read', member: 0, from: 'new', count: 1 },
              { kind: 'deadLetter', pick: 0 },
            ],
          ],
        ],
      },
    );
  });
});
