import { afterAll, describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../../src/engine/session-store-memory.js';
import { RedisSessionStore } from '../../src/engine/session-store-redis.js';
import { deleteKeysWithPrefix } from '../cluster/redis-processes.js';
import { describeSessionStoreContract } from './session-store-contract.js';

const url = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `apixtest-s-${process.pid}-${Date.now()}`;
afterAll(() => deleteKeysWithPrefix(url, prefix));

describeSessionStoreContract('memory', async () => new MemorySessionStore({ maxPerOrganization: 1_000 }));
describeSessionStoreContract(
  'redis',
  () => RedisSessionStore.connect({ url, prefix }),
  () => RedisSessionStore.connect({ url, prefix }),
);

describe('MemorySessionStore bounds', () => {
  it('keeps at most maxPerOrganization sessions per organisation, dropping the least recently written, without touching other organisations', async () => {
    const store = new MemorySessionStore({ maxPerOrganization: 3 });
    const owner = (org: string, i: number) => ({ sessionId: `s_${org}_${i}`, organizationId: org, userId: 'u', owner: `c_${i}` });
    const keep = { subscribed: new Map([['agent:x', {}]]), positions: new Map(), unsubscribed: [] };
    await store.save(owner('quiet', 0), keep, 60_000);
    for (let i = 0; i < 10; i++) await store.save(owner('noisy', i), keep, 60_000);
    expect(store.size).toBe(4);
    const quiet = await store.claim({ ...owner('quiet', 0), owner: 'c_new' }, 60_000);
    expect(quiet.kind === 'claimed' && quiet.subscriptions.size).toBe(1);
    expect(await store.claim({ ...owner('noisy', 0), owner: 'c_new' }, 60_000)).toEqual({ kind: 'missing' });
  });
});
