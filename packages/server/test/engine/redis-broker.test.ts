import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BrokerPublication } from '../../src/engine/broker.js';
import { RedisBroker } from '../../src/engine/redis-broker.js';
import { channelKeys, encodeTagContent } from '../../src/engine/redis-keys.js';
import { PUBLISH_SCRIPT } from '../../src/engine/redis-scripts.js';
import { deleteKeysWithPrefix, RedisProcess } from '../cluster/redis-processes.js';
import { describeBrokerContract } from './broker-contract.js';

/** The machine's Redis, isolated by a key prefix per run; every key this run made is deleted after. */
const prefix = `apixtest-${process.pid}-${Date.now()}`;
const url = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const retention = { historySize: 100, historyTtlMs: 60_000 };

describeBrokerContract('redis (single server)', async () => new RedisBroker({ url, prefix }));

let raw: Redis;
beforeAll(() => {
  raw = new Redis(url);
});
afterAll(async () => {
  await raw.quit();
  await deleteKeysWithPrefix(url, prefix);
});

const until = async (check: () => boolean, timeoutMs = 10_000) => {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('Redis keys', () => {
  it('encode the channel key injectively and without braces, so the hash tag is exactly the channel', () => {
    const inputs = ['o/a', 'o/a{b}', 'o/a%7Bb}', 'o/a%7Bb%7D', 'o/{', 'o/%', 'o/%25', 'o/}{'];
    const encoded = inputs.map(encodeTagContent);
    expect(new Set(encoded).size).toBe(inputs.length);
    for (const e of encoded) expect(e).not.toMatch(/[{}]/);
    const keys = channelKeys('apix', 'o/a{b}');
    expect(keys.stream).toBe('apix:{o/a%7Bb%7D}:s');
    expect(keys.idempotency('x}{y')).toBe('apix:{o/a%7Bb%7D}:i:x}{y');
  });
});

describe('RedisBroker specifics', () => {
  let broker: RedisBroker;
  let received: Map<string, Array<BrokerPublication & { epoch: string }>>;
  let n = 0;
  const key = () => `org/agent:specific-${Date.now()}-${++n}`;
  const offsets = (k: string) => (received.get(k) ?? []).map((p) => p.offset);

  beforeEach(async () => {
    broker = new RedisBroker({ url, prefix });
    received = new Map();
    await broker.start({
      onPublication: (k, publication, epoch) => received.set(k, [...(received.get(k) ?? []), { ...publication, epoch }]),
    });
  });
  afterEach(() => broker.close());

  /** Appends like a publish whose Pub/Sub notification was lost (sent to a channel nobody hears). */
  const appendSilently = (k: string, data: string, historySize = 100) => {
    const keys = channelKeys(prefix, k);
    return raw.eval(PUBLISH_SCRIPT, 3, keys.meta, keys.stream, keys.idempotency(''), data, historySize, 60_000, 0, 'unusedEpoch', 60_000, `${prefix}:nowhere`);
  };

  it('fills a gap in the notifications from the stream before delivering', async () => {
    const k = key();
    await broker.subscribe(k);
    await broker.publish(k, '1', retention);
    await appendSilently(k, '2');
    await appendSilently(k, '3');
    await broker.publish(k, '4', retention);
    await until(() => offsets(k).length === 4);
    expect(offsets(k)).toEqual([1, 2, 3, 4]);
    expect(received.get(k)!.map((p) => p.data)).toEqual(['1', '2', '3', '4']);
  });

  it('fills a gap at the very start of a subscription (from the position read when subscribing)', async () => {
    const k = key();
    await broker.publish(k, '1', retention);
    await broker.subscribe(k);
    await appendSilently(k, '2');
    await broker.publish(k, '3', retention);
    await until(() => offsets(k).length === 2);
    expect(offsets(k)).toEqual([2, 3]);
  });

  it('delivers what the log still has when the gap was trimmed away: the jump stays visible', async () => {
    const k = key();
    await broker.subscribe(k);
    await broker.publish(k, '1', { historySize: 2, historyTtlMs: 60_000 });
    for (let i = 2; i <= 6; i++) await appendSilently(k, String(i), 2);
    await broker.publish(k, '7', { historySize: 2, historyTtlMs: 60_000 });
    await until(() => offsets(k).at(-1) === 7);
    expect(offsets(k)).toEqual([1, 6, 7]);
  });

  it.each([
    ['the stream', 'stream'],
    ['the meta hash', 'meta'],
    ['both', 'both'],
  ] as const)('starts a new epoch when %s is lost (eviction, expiry, deletion)', async (_name, lost) => {
    const k = key();
    const keys = channelKeys(prefix, k);
    const before = await broker.publish(k, '1', retention);
    if (lost !== 'meta') await raw.del(keys.stream);
    if (lost !== 'stream') await raw.del(keys.meta);
    const after = await broker.publish(k, '2', retention);
    expect(after.offset).toBe(1);
    expect(after.epoch).not.toBe(before.epoch);
    const slice = await broker.history(k, { since: { offset: 1, epoch: before.epoch }, limit: 10 });
    expect(slice.position.epoch).toBe(after.epoch);
    expect(slice.publications.map((p) => p.data)).toEqual(['2']);
  });

  it('a read fixes the epoch of a channel nobody published to yet', async () => {
    const k = key();
    const position = (await broker.history(k, { limit: 0 })).position;
    expect(position.offset).toBe(0);
    const first = await broker.publish(k, '1', retention);
    expect(first).toMatchObject({ offset: 1, epoch: position.epoch });
  });

  it('idempotency is shared by every node: a retry on another broker instance returns the first position', async () => {
    const k = key();
    const other = new RedisBroker({ url, prefix });
    await other.start({ onPublication: () => undefined });
    const options = { ...retention, idempotencyKey: 'across-nodes', idempotencyTtlMs: 60_000 };
    const first = await broker.publish(k, 'a', options);
    await broker.close(); // the node that took the first attempt is gone
    expect(await other.publish(k, 'a', options)).toEqual({ ...first, duplicate: true });
    await other.close();
  });

});

describe('RedisBroker on its own throwaway redis-server', () => {
  let server: RedisProcess;
  beforeAll(async () => {
    server = await RedisProcess.start();
  });
  afterAll(() => server?.stop());

  it('catches up after its Pub/Sub link dropped, without waiting for the next publish', async () => {
    const received: number[] = [];
    const broker = new RedisBroker({ url: server.url });
    await broker.start({ onPublication: (_k, publication) => received.push(publication.offset) });
    const own = new Redis(server.url);
    const k = 'org/agent:catch-up';
    await broker.subscribe(k);
    await broker.publish(k, '1', retention);
    await until(() => received.length === 1);
    // Drop the subscriber link; what is appended meanwhile is never notified to this node.
    await own.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    const keys = channelKeys('apix', k);
    for (const data of ['2', '3']) {
      await own.eval(PUBLISH_SCRIPT, 3, keys.meta, keys.stream, keys.idempotency(''), data, 100, 60_000, 0, 'unusedEpoch', 60_000, 'apix:nowhere');
    }
    await until(() => received.length === 3);
    expect(received).toEqual([1, 2, 3]);
    await own.quit();
    await broker.close();
  });

  it('fails fast with UNAVAILABLE while Redis is down, and works again once it is back', async () => {
    const broker = new RedisBroker({ url: server.url });
    await broker.start({ onPublication: () => undefined });
    const k = 'org/agent:outage';
    await broker.publish(k, '1', retention);
    await server.kill();
    const started = performance.now();
    await expect(broker.publish(k, '2', retention)).rejects.toMatchObject({ code: 'APIX_ERR_UNAVAILABLE' });
    await expect(broker.history(k, { limit: 10 })).rejects.toMatchObject({ code: 'APIX_ERR_UNAVAILABLE' });
    await expect(broker.subscribe(k)).rejects.toMatchObject({ code: 'APIX_ERR_UNAVAILABLE' });
    // No queueing until Redis returns: well under the command timeout.
    expect(performance.now() - started).toBeLessThan(1_500);
    await until(() => !broker.connected); // readiness reads this
    await server.restart();
    let outcome;
    const deadline = performance.now() + 15_000;
    while (!outcome && performance.now() < deadline) {
      outcome = await broker.publish(k, '3', retention).catch(() => undefined);
      if (!outcome) await new Promise((r) => setTimeout(r, 100));
    }
    expect(outcome).toMatchObject({ offset: 1, duplicate: false }); // restarted without persistence: a new epoch
    await broker.close();
  });
});
