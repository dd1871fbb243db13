import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

// Server-wide counts are a platform admin's view of /api/v1/status. The token is minted once
// per server, ahead of time: minting inside a timed check would add an RSA signature to it.
const operatorTokens = new WeakMap<TestServer, Promise<string>>();
const operatorToken = (s: TestServer) => {
  if (!operatorTokens.has(s)) operatorTokens.set(s, s.token({ user: 'operator', roles: ['platform-admin'] }));
  return operatorTokens.get(s)!;
};
const status = async (s: TestServer) =>
  (await (await fetch(`${s.url}/api/v1/status`, { headers: { authorization: `Bearer ${await operatorToken(s)}` } })).json()) as { connections: number; channels: number };

describe('dead-peer detection', () => {
  it('closes a peer that stops answering WebSocket pings with 4002 and releases its subscriptions', async () => {
    server = await startTestServer({ PING_INTERVAL_MS: 100, PONG_TIMEOUT_MS: 200 });
    await operatorToken(server);
    const healthy = await RawClient.connect(server.wsUrl, await server.token({ user: 'healthy' }));
    const silent = await RawClient.open(server.wsUrl, { autoPong: false });
    await silent.request({ type: 'connect', token: await server.token() });
    await silent.request({ type: 'subscribe', channels: ['agent:dead'] });
    expect(await status(server)).toMatchObject({ connections: 2, channels: 1 });
    const closed = await silent.closed;
    expect(closed.code).toBe(4002);
    expect(await status(server)).toMatchObject({ connections: 1, channels: 0 });
    // A peer that answers pings stays connected through many ping intervals.
    await new Promise((r) => setTimeout(r, 500));
    expect(healthy.socket.readyState).toBe(WebSocket.OPEN);
    await healthy.close();
  });
});

describe('graceful shutdown', () => {
  it('closes every socket with 4000 (reconnect) and refuses new upgrades', async () => {
    server = await startTestServer();
    const a = await RawClient.connect(server.wsUrl, await server.token());
    const b = await RawClient.connect(server.wsUrl, await server.token({ user: 'bob' }));
    const wsUrl = server.wsUrl;
    await server.stop();
    server = undefined;
    expect((await a.closed).code).toBe(4000);
    expect((await b.closed).code).toBe(4000);
    await expect(RawClient.open(wsUrl)).rejects.toBeDefined();
  });
});

describe('slow consumer', () => {
  it('closes a client that stops reading with 4004 instead of buffering without bound', async () => {
    server = await startTestServer({ MAX_SEND_BUFFER_BYTES: 256 * 1024 });
    const slow = await RawClient.connect(server.wsUrl, await server.token());
    await slow.request({ type: 'subscribe', channels: ['agent:firehose'] });
    const tcp = (slow.socket as unknown as { _socket: import('node:net').Socket })._socket;
    tcp.pause();
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    const payload = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 2_000 && (await status(server)).connections === 2; i += 100) {
      await Promise.all(Array.from({ length: 100 }, () => publisher.request({ type: 'publish', channel: 'agent:firehose', event: { type: 'note', payload } })));
    }
    tcp.resume();
    expect((await slow.closed).code).toBe(4004);
    // The publisher and the server are unaffected.
    expect((await publisher.request({ type: 'publish', channel: 'agent:firehose', event: { type: 'note' } })).ok).toBe(true);
    await publisher.close();
  });
});
