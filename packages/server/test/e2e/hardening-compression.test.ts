import { CloseCodes } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** permessage-deflate: off by default; when on, bounded — a deflate bomb is cut off at MAX_FRAME_BYTES. */
let plain: TestServer;
let compressed: TestServer;
beforeAll(async () => {
  [plain, compressed] = await Promise.all([startTestServer(), startTestServer({ WS_COMPRESSION: true })]);
});
afterAll(() => Promise.all([plain.stop(), compressed.stop()]));

const authorized = async (server: TestServer) => ({ headers: { authorization: `Bearer ${await server.token({ roles: ['admin'] })}` }, perMessageDeflate: true });

describe('permessage-deflate', () => {
  it('is not negotiated by default, even when the client offers it', async () => {
    const client = await RawClient.open(plain.wsUrl, await authorized(plain));
    expect(client.socket.extensions).toBe('');
    await client.close();
  });

  it('is negotiated when enabled, and carries large events', async () => {
    const client = await RawClient.open(compressed.wsUrl, await authorized(compressed));
    expect(client.socket.extensions).toContain('permessage-deflate');
    await client.next((f) => f.type === 'connection.established');
    expect(await client.request({ type: 'publish', channel: 'agent:z', event: { type: 'note', payload: 'a'.repeat(40_000) } })).toMatchObject({ ok: true });
    await client.close();
  });

  it('refuses a deflate bomb with 1009 and stays up', async () => {
    const client = await RawClient.open(compressed.wsUrl, await authorized(compressed));
    await client.next((f) => f.type === 'connection.established');
    // ~20 KiB on the wire, 20 MiB inflated: cut off at MAX_FRAME_BYTES (64 KiB).
    client.send(`{"type":"publish","id":"bomb","channel":"agent:z","event":{"type":"note","payload":"${'0'.repeat(20 * 1024 * 1024)}"}}`);
    expect((await client.closed).code).toBe(CloseCodes.MESSAGE_TOO_BIG);
    const next = await RawClient.open(compressed.wsUrl, await authorized(compressed));
    await next.next((f) => f.type === 'connection.established');
    expect(await next.request({ type: 'heartbeat.ping' })).toMatchObject({ type: 'heartbeat.pong' });
    await next.close();
  });
});
