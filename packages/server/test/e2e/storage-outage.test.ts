import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * When storage goes away, requests that need it are refused with a typed, retryable error,
 * open connections stay up, and the process keeps serving what it can.
 */
let server: TestServer;
let client: RawClient;
beforeAll(async () => {
  server = await startTestServer({ PERMISSION_CACHE_TTL_MS: 50 });
  client = await RawClient.connect(server.wsUrl, await server.token());
  expect((await client.request({ type: 'publish', channel: 'agent:before', event: { type: 'note', payload: 1 } })).ok).toBe(true);
  await server.database.close(); // the database is gone from under the server
  await new Promise((r) => setTimeout(r, 100)); // cached permission answers expire
});
afterAll(() => server.stop());

describe('storage outage', () => {
  it('refuses subscribe, publish and history with APIX_ERR_UNAVAILABLE (retryable); the connection stays', async () => {
    for (const frame of [
      { type: 'subscribe', channels: ['agent:during'] },
      { type: 'publish', channel: 'agent:during', event: { type: 'note', payload: 2 } },
      { type: 'history', channel: 'agent:before' },
    ]) {
      const reply = await client.request(frame);
      expect(reply, frame.type).toMatchObject({ ok: false, error: { code: 'APIX_ERR_UNAVAILABLE', retryable: true } });
    }
    expect(await client.request({ type: 'heartbeat.ping' })).toMatchObject({ type: 'heartbeat.pong' });
  });

  it('answers HTTP with 503 and a code, and the process stays up', async () => {
    const response = await fetch(`${server.url}/api/v1/channels/agent:during/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await server.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'note', payload: 3 }),
    });
    expect({ status: response.status, body: await response.json() }).toMatchObject({ status: 503, body: { error: { code: 'APIX_ERR_UNAVAILABLE' } } });
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
  });
});
