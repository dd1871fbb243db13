import { describe, expect, it } from 'vitest';
import { MemoryPresenceManager } from '../../src/engine/presence-memory.js';
import { CONTRACT_PRESENCE_TTL_MS, describePresenceContract } from './presence-contract.js';

describePresenceContract('memory', async () => new MemoryPresenceManager({ memberTtlMs: CONTRACT_PRESENCE_TTL_MS }));

describe('MemoryPresenceManager specifics', () => {
  it('forgets a channel once its last member left or expired (memory follows who is present)', async () => {
    let now = 0;
    const presence = new MemoryPresenceManager({ memberTtlMs: 1_000, now: () => now });
    await presence.add('o/room:a', { clientId: 'c1', userId: 'u' });
    await presence.add('o/room:b', { clientId: 'c2', userId: 'u' });
    await presence.remove('o/room:a', 'c1');
    expect(presence.channelCount).toBe(1);
    now = 5_000;
    await presence.list('o/room:b');
    expect(presence.channelCount).toBe(0);
  });
});
