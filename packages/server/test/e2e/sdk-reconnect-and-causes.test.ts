import { ApiXClient, ClientState, type ClosedContext, type DisconnectCause } from '@apix/sdk';
import { CloseCodes } from '@apix/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The SDK against the real server: reconnect storms spread out (issue 6, item 7) and the
 * client says why it is not connected (issue 11, item 2).
 */
let server: TestServer | undefined;
const clients: ApiXClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await server?.stop();
  server = undefined;
});

function client(url: string, token: string, extra: Partial<ConstructorParameters<typeof ApiXClient>[1]> = {}): ApiXClient {
  const c = new ApiXClient(url, { token, WebSocket, heartbeat: { enabled: false }, ...extra });
  clients.push(c);
  return c;
}

const eventually = async (check: () => boolean, timeoutMs = 20_000): Promise<void> => {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('a mass drop', () => {
  it('200 clients dropped at once come back spread over the whole backoff window, not in one burst', async () => {
    server = await startTestServer();
    const CLIENTS = 200;
    const WINDOW_MS = 4_000;
    const token = await server.token();
    const reconnectAt: number[] = [];
    let droppedAt = 0;
    for (let i = 0; i < CLIENTS; i++) {
      const c = client(server.wsUrl, token, { minReconnectDelayMs: WINDOW_MS, maxReconnectDelayMs: WINDOW_MS * 4 });
      c.on('connecting', (ctx) => {
        if (ctx.reason === 'reconnect') reconnectAt.push(performance.now() - droppedAt);
      });
      c.connect();
    }
    await Promise.all(clients.map((c) => c.ready(30_000)));

    droppedAt = performance.now();
    server.connections.closeAll(CloseCodes.SERVER_SHUTDOWN, 'test: mass drop');
    await eventually(() => reconnectAt.length >= CLIENTS && clients.every((c) => c.state === ClientState.Connected), 30_000);

    // Full jitter from the first attempt: uniform over [0, WINDOW_MS) (plus whatever delay
    // the server asked for in connection.closing, which only shifts the window). Each quarter
    // of the span should hold about 25 %; a fixed first delay would put nearly all in one.
    // The bounds are loose because a loaded machine fires timers late (they pile up at the end).
    const first = reconnectAt.slice(0, CLIENTS).sort((a, b) => a - b);
    const start = first[0]!;
    const quarters = [0, 0, 0, 0];
    for (const t of first) quarters[Math.min(3, Math.floor(((t - start) / WINDOW_MS) * 4))]! += 1;
    const shares = quarters.map((q) => q / CLIENTS);
    console.log(`mass reconnect: ${CLIENTS} clients, window ${WINDOW_MS} ms, share per quarter ${shares.map((s) => `${Math.round(s * 100)} %`).join(' / ')}`);
    for (const share of shares) {
      expect(share).toBeGreaterThan(0.05);
      expect(share).toBeLessThan(0.55);
    }
  }, 60_000);
});

describe('causes the developer can act on', () => {
  it('a refused Origin: terminal, with HTTP 403 and APIX_ERR_ORIGIN_NOT_ALLOWED, one attempt only', async () => {
    server = await startTestServer({ ALLOWED_ORIGINS: 'https://app.example.com' });
    let attempts = 0;
    class FromAnotherOrigin extends WebSocket {
      constructor(url: string) {
        super(url, { origin: 'https://evil.example.com' });
        attempts += 1;
      }
    }
    const c = client(server.wsUrl, await server.token(), { WebSocket: FromAnotherOrigin, minReconnectDelayMs: 10, maxReconnectDelayMs: 20 });
    const closed = new Promise<ClosedContext>((resolve) => c.once('closed', resolve));
    c.connect();
    const context = await closed;
    expect(context.cause).toMatchObject({ kind: 'origin-refused', terminal: true, httpStatus: 403, error: { code: 'APIX_ERR_ORIGIN_NOT_ALLOWED' } });
    await expect(c.ready(1_000)).rejects.toMatchObject({ code: 'APIX_ERR_ORIGIN_NOT_ALLOWED' });
    await new Promise((r) => setTimeout(r, 200));
    expect(attempts).toBe(1);
  });

  it('a token the server refuses: closed with auth-failed (4500), no retry', async () => {
    server = await startTestServer();
    const c = client(server.wsUrl, 'not-a-jwt', { minReconnectDelayMs: 10, maxReconnectDelayMs: 20 });
    const closed = new Promise<ClosedContext>((resolve) => c.once('closed', resolve));
    c.connect();
    const context = await closed;
    expect(context.cause).toMatchObject<Partial<DisconnectCause>>({ kind: 'auth-failed', terminal: true, closeCode: CloseCodes.UNAUTHORIZED });
    await expect(c.ready(1_000)).rejects.toMatchObject({ code: 'APIX_ERR_AUTH_FAILED' });
  });

  it('a domain payload that fails its schema is refused by the server with APIX_ERR_INVALID_FRAME (the SDK bundle leaves payload schemas out)', async () => {
    server = await startTestServer();
    const c = client(server.wsUrl, await server.token());
    c.connect();
    await c.ready(5_000);
    const bad = { type: 'agent_status_update', payload: { agentId: 'a', status: 'dancing' } } as { type: string; payload: unknown };
    await expect(c.publish('agent:payload', bad)).rejects.toMatchObject({ code: 'APIX_ERR_INVALID_FRAME', retryable: false });
  });
});
