import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_REQUESTS_PER_SECOND: 20, RATE_LIMIT_BURST: 10 });
});
afterAll(() => server.stop());

describe('per-connection rate limit', () => {
  it('refuses requests past the budget with RATE_LIMITED (retryable), executes none of them, and recovers', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token());
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.request({ type: 'publish', channel: 'agent:flood', event: { type: 'note', payload: i } })),
    );
    const accepted = replies.filter((r) => r.ok === true);
    const limited = replies.filter((r) => r.ok === false);
    expect(accepted.length).toBeGreaterThanOrEqual(9); // the burst of 10, less the connect frame
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]).toMatchObject({ error: { code: 'APIX_ERR_RATE_LIMITED', retryable: true, details: { retryAfterMs: expect.any(Number) } } });
    // Heartbeats are exempt: the link can still be measured while the budget is spent.
    expect(await client.request({ type: 'heartbeat.ping' })).toMatchObject({ type: 'heartbeat.pong' });
    await new Promise((r) => setTimeout(r, 600));
    const history = await client.request({ type: 'history', channel: 'agent:flood', limit: 100 });
    expect((history.result as { publications: unknown[] }).publications).toHaveLength(accepted.length); // refused ones were not appended
    // Another connection has its own budget.
    const other = await RawClient.connect(server.wsUrl, await server.token({ user: 'bob' }));
    expect((await other.request({ type: 'publish', channel: 'agent:flood', event: { type: 'note' } })).ok).toBe(true);
    await Promise.all([client.close(), other.close()]);
  });
});
