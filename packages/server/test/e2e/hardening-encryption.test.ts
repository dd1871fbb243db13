import { Keyring, generateEncryptionKey } from '@apix/sdk/encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** Encrypted channels: plaintext refused, ciphertext stored and routed, readable only with the key. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const channel = 'agent:vault';

describe('a channel marked encrypted', () => {
  it('is set through the channel admin API and shown in its view', async () => {
    const admin = { authorization: `Bearer ${await server.token({ org: 'enc', roles: ['admin'] })}`, 'content-type': 'application/json' };
    const created = await fetch(`${server.url}/api/v1/channels`, { method: 'POST', headers: admin, body: JSON.stringify({ name: channel, encrypted: true, persistEvents: true }) });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: channel, encrypted: true });
  });

  it('refuses plaintext publishes over WebSocket and HTTP with APIX_ERR_ENCRYPTION_REQUIRED', async () => {
    const token = await server.token({ org: 'enc', roles: ['admin'] });
    const client = await RawClient.connect(server.wsUrl, token);
    for (const payload of [{ text: 'plain' }, 'plain', null, { alg: 'A256GCM', keyId: 'k', iv: 'short', ciphertext: 'x' }]) {
      expect(await client.request({ type: 'publish', channel, event: { type: 'note', payload } })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_ENCRYPTION_REQUIRED' } });
    }
    const http = await fetch(`${server.url}/api/v1/channels/${encodeURIComponent(channel)}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'note', payload: { text: 'plain' } }),
    });
    expect(http.status).toBe(400);
    expect(await http.json()).toMatchObject({ error: { code: 'APIX_ERR_ENCRYPTION_REQUIRED' } });
    const history = await client.request({ type: 'history', channel, limit: 10 });
    expect((history.result as { publications: unknown[] }).publications).toHaveLength(0);
    await client.close();
  });

  it('stores and routes ciphertext the server cannot read; a subscriber with the key reads it', async () => {
    const keyring = new Keyring().add('k1', await generateEncryptionKey());
    const [publisher, subscriber] = await Promise.all([
      RawClient.connect(server.wsUrl, await server.token({ org: 'enc', user: 'pub', roles: ['admin'] })),
      RawClient.connect(server.wsUrl, await server.token({ org: 'enc', user: 'sub', roles: ['admin'] })),
    ]);
    expect(await subscriber.request({ type: 'subscribe', channels: [channel] })).toMatchObject({ ok: true });
    const envelope = await keyring.encrypt({ text: 'the launch code is 0000' }, { channel });
    expect(await publisher.request({ type: 'publish', channel, event: { type: 'note', payload: envelope } })).toMatchObject({ ok: true });
    const [delivered] = await subscriber.waitForEvents(channel, 1);
    const payload = (delivered!.event as { payload: unknown }).payload;
    expect(payload).toEqual(envelope);
    expect(await keyring.decrypt(payload, { channel })).toEqual({ text: 'the launch code is 0000' });
    // What the server keeps (log and archive) is the envelope only.
    const history = await publisher.request({ type: 'history', channel, limit: 10 });
    expect(JSON.stringify(history)).not.toContain('launch code');
    await Promise.all([publisher.close(), subscriber.close()]);
  });

  it('leaves other channels alone', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token({ org: 'enc', roles: ['admin'] }));
    expect(await client.request({ type: 'publish', channel: 'agent:plain', event: { type: 'note', payload: { text: 'plain' } } })).toMatchObject({ ok: true });
    await client.close();
  });
});
