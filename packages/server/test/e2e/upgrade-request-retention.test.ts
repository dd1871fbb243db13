import type { IncomingMessage } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * What a connection keeps: the upgrade request (its headers, the bearer token among them) must
 * be garbage once the connection is established. A closure made while handling the upgrade and
 * left on the socket shares that call's scope, and kept about 1.5 KB per connection alive for the
 * connection's life (one channel per user: KB per connection is a bench goal).
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describe('an established connection', () => {
  it('does not keep its upgrade request alive', async () => {
    const requests: Array<WeakRef<IncomingMessage>> = [];
    const remember = (request: IncomingMessage) => void requests.push(new WeakRef(request));
    server.httpServer.prependListener('upgrade', remember);
    const clients = [];
    for (let i = 0; i < 3; i++) {
      const client = await RawClient.connect(server.wsUrl, await server.token({ user: `u${i}` }));
      expect((await client.request({ type: 'subscribe', channels: [`user:u${i}`] })).ok).toBe(true);
      clients.push(client);
    }
    server.httpServer.off('upgrade', remember);
    expect(requests).toHaveLength(3);
    for (let round = 0; round < 5 && requests.some((r) => r.deref() !== undefined); round++) {
      await new Promise((r) => setTimeout(r, 50));
      gc();
    }
    expect(requests.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    await Promise.all(clients.map((c) => c.close()));
  });
});
