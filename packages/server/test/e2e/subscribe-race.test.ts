import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Nothing outlives its connection: a socket that resets while its subscribe is being
 * authorised (a first-time channel lookup goes to storage) must leave no subscription, hub or
 * broker subscription behind. Runs on PGlite and, with APIX_TEST_STORAGE=postgres, PostgreSQL.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('a subscribe racing a socket reset', () => {
  it('leaves nothing behind, whichever way the race goes', async () => {
    const token = await server.token();
    const ROUNDS = 200;
    for (let batch = 0; batch < ROUNDS; batch += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const client = await RawClient.connect(server.wsUrl, token);
          // Fresh names: each subscribe needs a storage lookup, which is the window the race needs.
          const frame = JSON.stringify({ type: 'subscribe', id: 's', channels: [`agent:race-${batch + i}`, `room:race-${batch + i}`] });
          // Reset right after the frame left (and, for some, a moment later): the server sees the
          // frame, starts authorising it, and the socket goes away under it.
          await new Promise<void>((resolve) => client.socket.send(frame, () => resolve()));
          if (i % 4 !== 0) await new Promise((r) => setTimeout(r, i % 4));
          client.socket.terminate();
          await client.closed;
        }),
      );
    }
    await waitFor(() => server.realtimeStats().connections === 0 && server.realtimeStats().channels === 0, 10_000);
    expect(server.realtimeStats()).toMatchObject({ connections: 0, channels: 0, brokerSubscriptions: 0 });
  }, 120_000);
});
