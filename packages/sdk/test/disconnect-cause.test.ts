import { CloseCodes } from '@apix/protocol';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiXClientError, type ClosedContext, type DisconnectedContext } from '../src/index.js';
import { eventually, nextEvent } from './helpers/eventually.js';
import { FakeServer } from './helpers/fake-server.js';
import { pause, useHarness } from './helpers/harness.js';

const h = useHarness();
const httpServers: Server[] = [];
afterEach(async () => {
  for (const s of httpServers.splice(0)) await new Promise((r) => s.close(r));
});

/** An HTTP server that answers every WebSocket upgrade the way APIX's gateway refuses one. */
async function refusingServer(status: number, body: object): Promise<{ url: string; upgrades: () => number }> {
  let upgrades = 0;
  const server = createServer();
  server.on('upgrade', (_request, socket) => {
    upgrades += 1;
    const text = JSON.stringify(body);
    socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  httpServers.push(server);
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`, upgrades: () => upgrades };
}

describe('the client says why it is not connected', () => {
  it('a failing token function: ready() times out naming it, and the client keeps retrying', async () => {
    const client = h.client({
      token: () => {
        throw new TypeError('Failed to parse URL from /auth/token');
      },
    });
    const disconnected = nextEvent<DisconnectedContext>((l) => client.on('disconnected', l));
    client.connect();
    expect((await disconnected).cause).toMatchObject({ kind: 'token-failed', terminal: false });
    const error = (await client.ready(100).catch((e: unknown) => e)) as ApiXClientError;
    expect(error).toBeInstanceOf(ApiXClientError);
    expect(error.code).toBe('APIX_ERR_TIMEOUT');
    expect(error.message).toContain('token-failed');
    expect(error.message).toContain('Failed to parse URL from /auth/token');
    expect(error.details).toMatchObject({ lastCause: 'token-failed' });
    expect(client.lastCause?.kind).toBe('token-failed');
    expect(client.state).not.toBe('closed');
  });

  it('an upgrade refused for its Origin (HTTP 403 + APIX_ERR_ORIGIN_NOT_ALLOWED) is terminal and names the status', async () => {
    const refusing = await refusingServer(403, { error: { code: 'APIX_ERR_ORIGIN_NOT_ALLOWED', message: 'origin is not allowed', retryable: false } });
    const client = h.client({ url: refusing.url });
    const closed = nextEvent<ClosedContext>((l) => client.on('closed', l));
    client.connect();
    const context = await closed;
    expect(context.cause).toMatchObject({ kind: 'origin-refused', terminal: true, httpStatus: 403 });
    expect(context.error.code).toBe('APIX_ERR_ORIGIN_NOT_ALLOWED');
    await expect(client.ready(100)).rejects.toMatchObject({ code: 'APIX_ERR_ORIGIN_NOT_ALLOWED' });
    await pause(60);
    expect(refusing.upgrades()).toBe(1);
  });

  it('an upgrade refused with 503 is not terminal: the cause names the status and the client retries', async () => {
    const refusing = await refusingServer(503, { error: { code: 'APIX_ERR_UNAVAILABLE', message: 'server is shutting down', retryable: true } });
    const client = h.client({ url: refusing.url });
    const disconnected = nextEvent<DisconnectedContext>((l) => client.on('disconnected', l));
    client.connect();
    expect((await disconnected).cause).toMatchObject({ kind: 'upgrade-refused', terminal: false, httpStatus: 503, error: { code: 'APIX_ERR_UNAVAILABLE' } });
    await eventually(() => expect(refusing.upgrades()).toBeGreaterThanOrEqual(2));
  });

  it('an unreachable server: the cause says the socket never opened, with the transport message, and retries', async () => {
    const down = await FakeServer.start();
    await down.close();
    const client = h.client({ url: down.url });
    const disconnected = nextEvent<DisconnectedContext>((l) => client.on('disconnected', l));
    client.connect();
    const { cause } = await disconnected;
    expect(cause).toMatchObject({ kind: 'unreachable', terminal: false, closeCode: 1006 });
    expect(cause.message).toContain('ECONNREFUSED');
  });

  it('a refused token: closed with cause auth-failed (terminal), ready() rejects with APIX_ERR_AUTH_FAILED', async () => {
    const client = h.client({ token: 'bad' });
    const closed = nextEvent<ClosedContext>((l) => client.on('closed', l));
    client.connect();
    expect((await closed).cause).toMatchObject({ kind: 'auth-failed', terminal: true, closeCode: 4500 });
    await expect(client.ready(100)).rejects.toMatchObject({ code: 'APIX_ERR_AUTH_FAILED' });
  });

  it('a connection closed by the server: the cause carries its code and reason; cleared once connected again', async () => {
    const client = h.client();
    client.connect();
    await client.ready(1000);
    const disconnected = nextEvent<DisconnectedContext>((l) => client.on('disconnected', l));
    h.server().lastPeer.close(CloseCodes.SERVER_SHUTDOWN, 'restarting');
    expect((await disconnected).cause).toMatchObject({ kind: 'closed', closeCode: 4000, closeReason: 'restarting', terminal: false });
    await eventually(() => expect(client.state).toBe('connected'));
    expect(client.lastCause).toBeUndefined();
  });
});

describe('connection.closing', () => {
  it('the client never reconnects sooner than retryAfterMs, and adds its jitter on top', async () => {
    const client = h.client();
    client.connect();
    await client.ready(1000);
    const server = h.server();
    const disconnected = nextEvent<DisconnectedContext>((l) => client.on('disconnected', l));
    const RETRY_AFTER_MS = 300;
    server.lastPeer.send({ type: 'connection.closing', code: CloseCodes.SERVER_SHUTDOWN, reason: 'deploy', retryAfterMs: RETRY_AFTER_MS });
    const closedAt = performance.now();
    server.lastPeer.close(CloseCodes.SERVER_SHUTDOWN, 'deploy');
    const context = await disconnected;
    expect(context.reconnectDelayMs).toBeGreaterThanOrEqual(RETRY_AFTER_MS);
    expect(context.cause).toMatchObject({ kind: 'closed', closeCode: 4000, closeReason: 'deploy' });
    await eventually(() => expect(server.peers).toHaveLength(2), 3000);
    expect(performance.now() - closedAt).toBeGreaterThanOrEqual(RETRY_AFTER_MS);
  });
});
