import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * When storage goes away, the data plane goes on with what it knows: live subscriptions stay,
 * delivery and publishing on known channels go on (memory engine), the last known permission
 * decisions stand; only what needs a first-time lookup is refused, fast, with a typed,
 * retryable error. The process stays up.
 */
let server: TestServer;
let client: RawClient;
let listener: RawClient;
beforeAll(async () => {
  server = await startTestServer({ PERMISSION_CACHE_TTL_MS: 50 });
  client = await RawClient.connect(server.wsUrl, await server.token());
  listener = await RawClient.connect(server.wsUrl, await server.token({ user: 'lee' }));
  expect((await client.request({ type: 'publish', channel: 'agent:before', event: { type: 'note', payload: 1 } })).ok).toBe(true);
  expect((await listener.request({ type: 'subscribe', channels: ['agent:live'] })).ok).toBe(true);
  expect((await client.request({ type: 'publish', channel: 'agent:live', event: { type: 'note', payload: 'before' } })).ok).toBe(true);
  await listener.waitForEvents('agent:live', 1);
  await server.database.close(); // the database is gone from under the server
  await new Promise((r) => setTimeout(r, 100)); // cached answers are now older than their refresh interval
});
afterAll(async () => {
  await Promise.all([client.close(), listener.close()]);
  await server.stop();
});

describe('storage outage', () => {
  it('keeps serving what it knows: publish and history on known channels, live delivery to open subscriptions', async () => {
    expect(await client.request({ type: 'publish', channel: 'agent:live', event: { type: 'note', payload: 'during' } })).toMatchObject({ ok: true });
    await listener.waitForEvents('agent:live', 2);
    expect(await client.request({ type: 'history', channel: 'agent:before' })).toMatchObject({ ok: true, result: { publications: [{ offset: 1 }] } });
  });

  it('never revokes a subscription because permissions could not be re-read', async () => {
    // A change event that names the listener arrives while its permissions cannot be loaded.
    await server.controlBus.publish({ type: 'access-changed', change: { kind: 'organization', organizationId: 'acme' }, origin: 'node_elsewhere' });
    await server.controlBus.publish({ type: 'resync', origin: 'node_elsewhere' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await client.request({ type: 'publish', channel: 'agent:live', event: { type: 'note', payload: 'still' } })).toMatchObject({ ok: true });
    await listener.waitForEvents('agent:live', 3);
    expect(listener.frames.some((f) => f.type === 'subscription.removed')).toBe(false);
    expect(listener.socket.readyState).toBe(listener.socket.OPEN);
  });

  it('serves a new channel of an organisation it knows: its channel rows are all in memory', async () => {
    expect(await client.request({ type: 'publish', channel: 'agent:brand-new', event: { type: 'note', payload: 1 } })).toMatchObject({ ok: true });
  });

  it('refuses what needs a first-time lookup (an organisation never seen) with APIX_ERR_UNAVAILABLE (retryable), fast; the connection stays', async () => {
    const stranger = await RawClient.connect(server.wsUrl, await server.token({ org: 'never-seen-org', user: 'sam' }));
    for (const frame of [
      { type: 'subscribe', channels: ['agent:never-seen'] },
      { type: 'publish', channel: 'agent:never-seen', event: { type: 'note', payload: 2 } },
      { type: 'history', channel: 'agent:never-seen' },
    ]) {
      const startedAt = performance.now();
      const reply = await stranger.request(frame);
      expect(reply, frame.type).toMatchObject({ ok: false, error: { code: 'APIX_ERR_UNAVAILABLE', retryable: true } });
      expect(performance.now() - startedAt, frame.type).toBeLessThan(server.config.STORAGE_TIMEOUT_MS + 2_000);
    }
    expect(await stranger.request({ type: 'heartbeat.ping' })).toMatchObject({ type: 'heartbeat.pong' });
    await stranger.close();
  });

  it('answers HTTP with 503 and a code for what needs storage, and the process stays up', async () => {
    const response = await fetch(`${server.url}/api/v1/channels/agent:never-seen/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await server.token({ org: 'another-unseen-org' })}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'note', payload: 3 }),
    });
    expect({ status: response.status, body: await response.json() }).toMatchObject({ status: 503, body: { error: { code: 'APIX_ERR_UNAVAILABLE' } } });
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
  });
});
