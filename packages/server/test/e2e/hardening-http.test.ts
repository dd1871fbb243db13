import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Issue 7, findings 6–9 against a real server with default settings: slowloris sockets,
 * credentials in logged URLs, deeply nested JSON, and what /api/v1/status tells strangers.
 */
const logLines: string[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    logLines.push(...chunk.toString().split('\n').filter((l) => l.length > 0));
    done();
  },
});

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ LOG_LEVEL: 'info' }, { logger: createLogger('info', logSink) });
});
afterAll(() => server.stop());

/** A raw TCP socket to the server, with a promise of when it was closed (ms after opening). */
function rawSocket(): { socket: Socket; closedAfterMs: Promise<number> } {
  const opened = performance.now();
  const socket = connect(server.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.resume();
  const closedAfterMs = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now() - opened)));
  return { socket, closedAfterMs };
}

/** Sends headers a line at a time, forever: the slowloris attack. */
function dripHeaders(socket: Socket, requestLine: string, headers: string[]): NodeJS.Timeout {
  socket.write(`${requestLine}\r\nHost: 127.0.0.1\r\n`);
  let n = 0;
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(`X-Drip-${n}: ${headers[n % headers.length]}\r\n`);
    n++;
  }, 1_000);
  socket.on('close', () => clearInterval(timer));
  return timer;
}

const SLOWLORIS_BOUND_MS = 15_000;

describe('slow clients (finding 6)', () => {
  it('drops a slow-headers socket within 15 s, on plain HTTP and on the WebSocket upgrade path', async () => {
    const http = rawSocket();
    const upgrade = rawSocket();
    const timers = [
      dripHeaders(http.socket, 'GET /api/v1/status HTTP/1.1', ['a']),
      dripHeaders(upgrade.socket, 'GET /ws HTTP/1.1', ['Upgrade: websocket', 'Connection: Upgrade']),
    ];
    const giveUp = setTimeout(() => [http.socket, upgrade.socket].forEach((s) => s.destroy()), SLOWLORIS_BOUND_MS + 10_000);
    try {
      const [httpMs, upgradeMs] = await Promise.all([http.closedAfterMs, upgrade.closedAfterMs]);
      expect(httpMs).toBeLessThan(SLOWLORIS_BOUND_MS);
      expect(upgradeMs).toBeLessThan(SLOWLORIS_BOUND_MS);
    } finally {
      clearTimeout(giveUp);
      timers.forEach(clearInterval);
    }
  }, 40_000);

  it('closes an idle keep-alive connection after a short while', async () => {
    const { socket, closedAfterMs } = rawSocket();
    socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    const giveUp = setTimeout(() => socket.destroy(), SLOWLORIS_BOUND_MS + 10_000);
    expect(await closedAfterMs).toBeLessThan(SLOWLORIS_BOUND_MS);
    clearTimeout(giveUp);
  }, 40_000);

  it('makes the timeouts configurable', async () => {
    const quick = await startTestServer({ HTTP_HEADERS_TIMEOUT_MS: 1_000, HTTP_REQUEST_TIMEOUT_MS: 2_000 });
    try {
      const opened = performance.now();
      const socket = connect(quick.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.resume();
      const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now() - opened)));
      dripHeaders(socket, 'GET /api/v1/status HTTP/1.1', ['a']);
      expect(await closed).toBeLessThan(SLOWLORIS_BOUND_MS / 2);
    } finally {
      await quick.stop();
    }
  }, 40_000);
});

describe('credentials never reach the log (finding 7)', () => {
  it('redacts credential query parameters and never logs auth bodies', async () => {
    logLines.length = 0;
    const secrets = ['S3CRET-token', 'S3CRET-access', 'S3CRET-apikey', 'S3CRET-key', 'S3CRET-pass', 'S3CRET-body', 'S3CRET-refresh'];
    await (await fetch(`${server.url}/api/v1/status?token=${secrets[0]}&access_token=${secrets[1]}&api_key=${secrets[2]}&visible=yes`)).arrayBuffer();
    await (await fetch(`${server.url}/api/v1/channels/agent%3Ax/events?key=${secrets[3]}&Password=${secrets[4]}`)).arrayBuffer();
    await (
      await fetch(`${server.url}/api/v1/auth/login?refresh_token=${secrets[6]}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'nobody@example.com', password: secrets[5] }),
      })
    ).arrayBuffer();
    await RawClient.open(`${server.wsUrl}?token=${secrets[0]}`).then(
      (c) => c.close(),
      () => undefined,
    );
    const deadline = performance.now() + 10_000;
    while (logLines.filter((l) => l.includes('request completed')).length < 3 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));

    const completed = logLines.filter((l) => l.includes('request completed')).map((l) => JSON.parse(l) as { url: string; statusCode: number });
    expect(completed.map((l) => l.url)).toEqual(
      expect.arrayContaining([expect.stringContaining('visible=yes'), expect.stringContaining('/api/v1/auth/login?refresh_token=[redacted]')]),
    );
    const everything = logLines.join('\n');
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });
});

describe('deeply nested JSON (finding 8)', () => {
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

  it('answers 400 APIX_ERR_BAD_JSON over HTTP, logs no error, and the server stays up', async () => {
    logLines.length = 0;
    const token = await server.token({ roles: ['admin'] });
    const response = await fetch(`${server.url}/api/v1/channels/agent%3Adeep/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: `{"type":"note","payload":${deep(5_000)}}`,
    });
    expect({ status: response.status, body: await response.json() }).toMatchObject({ status: 400, body: { error: { code: 'APIX_ERR_BAD_JSON', retryable: false } } });
    // Nesting within the bound still works.
    const fine = await fetch(`${server.url}/api/v1/channels/agent%3Adeep/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: `{"type":"note","payload":${deep(20)}}`,
    });
    expect(fine.status).toBe(201);
    expect(logLines.filter((l) => JSON.parse(l).level >= 50)).toEqual([]);
  });

  it('answers an error reply on the WebSocket and keeps the connection', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token({ roles: ['admin'] }));
    client.send(`{"type":"publish","id":"deep","channel":"agent:deep","event":{"type":"note","payload":${deep(5_000)}}}`);
    const error = await client.next((f) => f.type === 'connection.error' || f.id === 'deep');
    expect(JSON.stringify(error)).toContain('APIX_ERR_BAD_JSON');
    expect(await client.request({ type: 'heartbeat.ping' })).toMatchObject({ type: 'heartbeat.pong' });
    await client.close();
  });
});

describe('/api/v1/status (finding 9)', () => {
  const status = async (headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}/api/v1/status`, { headers });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('tells strangers and tenants only that it is up and its version', async () => {
    expect(Object.keys((await status()).body).sort()).toEqual(['status', 'version']);
    const tenant = { authorization: `Bearer ${await server.token({ roles: ['admin'] })}` };
    expect(Object.keys((await status(tenant)).body).sort()).toEqual(['status', 'version']);
    expect((await status({ authorization: 'Bearer forged' })).status).toBe(401);
  });

  it('gives a platform admin the node details and server-wide counts', async () => {
    const operator = { authorization: `Bearer ${await server.token({ org: 'operators', user: 'root', roles: ['platform-admin'] })}` };
    expect((await status(operator)).body).toMatchObject({ status: 'ok', nodeId: expect.any(String), engine: 'memory', connections: expect.any(Number), channels: expect.any(Number) });
  });
});
