import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const status = async (s: TestServer) => s.realtimeStats();

describe('dead-peer detection', () => {
  it('closes a peer that stops answering WebSocket pings with 4002 and releases its subscriptions', async () => {
    server = await startTestServer({ PING_INTERVAL_MS: 200, PONG_TIMEOUT_MS: 1_500 });
    const healthy = await RawClient.connect(server.wsUrl, await server.token({ user: 'healthy' }));
    const silent = await RawClient.open(server.wsUrl, { autoPong: false });
    await silent.request({ type: 'connect', token: await server.token() });
    await silent.request({ type: 'subscribe', channels: ['agent:dead'] });
    expect(await status(server)).toMatchObject({ connections: 2, channels: 1 });
    const closed = await silent.closed;
    expect(closed.code).toBe(4002);
    expect(await status(server)).toMatchObject({ connections: 1, channels: 0 });
    // A peer that answers pings stays connected through many ping intervals.
    await new Promise((r) => setTimeout(r, 1_000));
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
    // Each was told when to come back, spread over RECONNECT_SPREAD_MS so they don't return together.
    for (const client of [a, b]) {
      const closing = await client.next((f) => f.type === 'connection.closing', 1_000);
      expect(closing).toMatchObject({ code: 4000, retryAfterMs: expect.any(Number) });
      expect(closing.retryAfterMs as number).toBeGreaterThanOrEqual(0);
      expect(closing.retryAfterMs as number).toBeLessThan(5_000);
    }
    await expect(RawClient.open(wsUrl)).rejects.toBeDefined();
  });
});

describe('overload', () => {
  it('refuses upgrades past MAX_CONNECTIONS with 503, a code and a spread Retry-After hint', async () => {
    server = await startTestServer({ MAX_CONNECTIONS: 1, RECONNECT_SPREAD_MS: 2_000 });
    const first = await RawClient.connect(server.wsUrl, await server.token());
    const refused = await RawClient.open(server.wsUrl).then(
      () => undefined,
      (error: { status: number; body: string }) => error,
    );
    expect(refused?.status).toBe(503);
    const body = JSON.parse(refused!.body) as { error: { code: string; details: { retryAfterMs: number } } };
    expect(body.error.code).toBe('APIX_ERR_UNAVAILABLE');
    expect(body.error.details.retryAfterMs).toBeGreaterThanOrEqual(1_000);
    expect(body.error.details.retryAfterMs).toBeLessThan(3_000);
    await first.close();
    await server.stop();
    server = undefined;
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
  it('sends the 4004 close ahead of the unread backlog, so a consumer that reads late still learns it, and resumes without a gap', async () => {
    // Defaults on purpose: the send-buffer cap and the history size are chosen together.
    server = await startTestServer();
    const slow = await RawClient.connect(server.wsUrl, await server.token());
    await slow.request({ type: 'subscribe', channels: ['agent:late'] });
    const tcp = (slow.socket as unknown as { _socket: import('node:net').Socket })._socket;
    tcp.pause();
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    const payload = 'y'.repeat(1_024);
    let published = 0;
    while ((await status(server)).connections === 2 && published < 30_000) {
      await Promise.all(Array.from({ length: 200 }, () => publisher.request({ type: 'publish', channel: 'agent:late', event: { type: 'note', payload } })));
      published += 200;
    }
    expect((await status(server)).connections).toBe(1);
    // Read only after longer than the close handshake timeout: the close frame must still be there.
    await new Promise((r) => setTimeout(r, 3_000));
    tcp.resume();
    expect((await slow.closed).code).toBe(4004);
    const received = slow.events('agent:late');
    const last = received.at(-1) as unknown as { offset: number; epoch: string };
    expect(received.map((e) => e.offset)).toEqual(received.map((_, i) => i + 1));

    const back = await RawClient.connect(server.wsUrl, await server.token());
    const reply = await back.request({ type: 'subscribe', channels: ['agent:late'], since: { 'agent:late': { offset: last.offset, epoch: last.epoch } } });
    expect(reply).toMatchObject({ ok: true, result: { subscriptions: [{ recovered: true }] } });
    const head = (reply.result as { subscriptions: Array<{ position: { offset: number } }> }).subscriptions[0]!.position.offset;
    const replayed = await back.waitForEvents('agent:late', head - last.offset);
    expect(replayed.map((e) => e.offset)).toEqual(Array.from({ length: head - last.offset }, (_, i) => last.offset + 1 + i));
    await Promise.all([back.close(), publisher.close()]);
  }, 120_000);
});
