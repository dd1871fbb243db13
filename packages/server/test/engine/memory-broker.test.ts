import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../src/engine/memory-broker.js';
import { describeBrokerContract } from './broker-contract.js';

describeBrokerContract('memory', async () => new MemoryBroker());

describe('MemoryBroker specifics', () => {
  it('drops publications older than the history TTL, on publish and on read', async () => {
    let now = 1_000_000;
    const broker = new MemoryBroker({ now: () => now });
    const options = { historySize: 100, historyTtlMs: 1_000 };
    await broker.publish('o/agent:ttl', '1', options);
    now += 600;
    await broker.publish('o/agent:ttl', '2', options);
    now += 600; // 1 is now 1,200 ms old
    expect((await broker.history('o/agent:ttl', { limit: 10 })).publications.map((p) => p.data)).toEqual(['2']);
    now += 2_000;
    const empty = await broker.history('o/agent:ttl', { limit: 10 });
    expect(empty.publications).toEqual([]);
    expect(empty.position.offset).toBe(2); // offsets keep counting: age trims entries, not the stream
    await broker.close();
  });

  it('forgets an idle stream entirely after the idle TTL (the next publish starts a new epoch)', async () => {
    let now = 0;
    const broker = new MemoryBroker({ now: () => now, streamIdleTtlMs: 1_000, sweepIntervalMs: 10 });
    const first = await broker.publish('o/agent:idle', '1', { historySize: 10, historyTtlMs: 10_000 });
    now = 5_000;
    await new Promise((r) => setTimeout(r, 30));
    expect(broker.streamCount).toBe(0);
    const second = await broker.publish('o/agent:idle', '1', { historySize: 10, historyTtlMs: 10_000 });
    expect(second.offset).toBe(1);
    expect(second.epoch).not.toBe(first.epoch);
    await broker.close();
  });

  it('forgets streams that were only read (made-up names) much sooner than published ones', async () => {
    let now = 0;
    const broker = new MemoryBroker({ now: () => now, emptyStreamTtlMs: 1_000, streamIdleTtlMs: 100_000, sweepIntervalMs: 10 });
    await broker.history('o/agent:probe', { limit: 10 });
    await broker.publish('o/agent:real', '1', { historySize: 10, historyTtlMs: 1_000_000 });
    now = 5_000;
    await new Promise((r) => setTimeout(r, 30));
    expect(broker.streamCount).toBe(1);
    await broker.close();
  });

  it('never forgets a stream while a node subscribes to it; it ages from the unsubscribe on', async () => {
    let now = 0;
    const broker = new MemoryBroker({ now: () => now, emptyStreamTtlMs: 1_000, streamIdleTtlMs: 1_000, sweepIntervalMs: 10 });
    await broker.subscribe('o/user:quiet');
    const { position } = await broker.history('o/user:quiet', { limit: 0 });
    now = 5_000;
    await new Promise((r) => setTimeout(r, 30));
    expect((await broker.history('o/user:quiet', { limit: 0 })).position.epoch).toBe(position.epoch);
    await broker.unsubscribe('o/user:quiet');
    now = 5_500;
    await new Promise((r) => setTimeout(r, 30));
    expect(broker.streamCount).toBe(1);
    now = 7_000;
    await new Promise((r) => setTimeout(r, 30));
    expect(broker.streamCount).toBe(0);
    await broker.close();
  });

  it('compacts its log so long-running channels keep bounded memory', async () => {
    const broker = new MemoryBroker();
    for (let i = 1; i <= 20_000; i++) await broker.publish('o/agent:long', String(i), { historySize: 10, historyTtlMs: 60_000 });
    const slice = await broker.history('o/agent:long', { since: { offset: 19_995, epoch: (await broker.history('o/agent:long', { limit: 0 })).position.epoch }, limit: 100 });
    expect(slice.publications.map((p) => p.data)).toEqual(['19996', '19997', '19998', '19999', '20000']);
    await broker.close();
  });
});
