import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Rate limits hold across the cluster when REDIS_URL is set: two nodes (two servers sharing
 * one Redis and one counter prefix) spend from the same budget. The auth per-IP limit is used
 * because its key (the client address) is the same on both nodes whatever their signing keys.
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
let nodes: TestServer[];
beforeAll(async () => {
  const shared = { REDIS_URL, RATE_LIMIT_REDIS_PREFIX: `apix-test:cluster:${randomUUID()}`, AUTH_RATE_LIMIT_PER_IP: 10 };
  nodes = await Promise.all([startTestServer(shared), startTestServer(shared)]);
});
afterAll(() => Promise.all(nodes.map((n) => n.stop())));

describe('rate limits with REDIS_URL', () => {
  it('are shared by every node: 10 attempts per minute per address, spread over two nodes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 16; i++) {
      const node = nodes[i % 2]!;
      const response = await fetch(`${node.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `spray-${i}@example.com`, password: 'wrong password here' }),
      });
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    // Each node alone would allow 10 (20 together); shared counters allow 10 in total.
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(6);
  });
});
