import { CloseCodes } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRE_AUTH_MAX_FRAME_BYTES, PRE_AUTH_MAX_MESSAGES } from '../../src/limits/pre-auth-caps.js';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** Issue 7, finding 4: what an unauthenticated socket can make the server hold is small. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const closedWithin = async (client: RawClient, ms = 10_000) => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([client.closed, new Promise<{ code: number }>((resolve) => (timer = setTimeout(() => resolve({ code: -1 }), ms)))]);
  } finally {
    clearTimeout(timer);
  }
};

describe('before authentication', () => {
  it('a message larger than the pre-auth cap (but under MAX_FRAME_BYTES) closes the socket with 1009', async () => {
    const client = await RawClient.open(server.wsUrl);
    client.send({ type: 'connect', id: '1', token: 'x'.repeat(PRE_AUTH_MAX_FRAME_BYTES + 1024) });
    expect((await closedWithin(client)).code).toBe(CloseCodes.MESSAGE_TOO_BIG);
  });

  it('fragments are counted together: an unfinished message past the cap closes the socket', async () => {
    const client = await RawClient.open(server.wsUrl);
    const fragment = Buffer.alloc(1024, 0x61);
    for (let i = 0; i < 40; i++) client.socket.send(fragment, { fin: false, binary: false });
    expect((await closedWithin(client)).code).toBe(CloseCodes.MESSAGE_TOO_BIG);
  });

  it('many small messages without authenticating close the socket', async () => {
    const client = await RawClient.open(server.wsUrl);
    for (let i = 0; i < PRE_AUTH_MAX_MESSAGES * 3; i++) client.send({ type: 'heartbeat.ping', id: `p${i}` });
    expect((await closedWithin(client)).code).toBe(CloseCodes.MESSAGE_TOO_BIG);
  });

  it('after authentication the normal limits apply: large frames and many messages are fine', async () => {
    const client = await RawClient.open(server.wsUrl);
    expect(await client.request({ type: 'connect', token: await server.token({ roles: ['admin'] }) })).toMatchObject({ ok: true });
    const big = await client.request({ type: 'publish', channel: 'agent:big', event: { type: 'note', payload: 'y'.repeat(PRE_AUTH_MAX_FRAME_BYTES * 2) } });
    expect(big).toMatchObject({ ok: true });
    for (let i = 0; i < PRE_AUTH_MAX_MESSAGES * 2; i++) expect(await client.request({ type: 'heartbeat.ping' })).toMatchObject({ type: 'heartbeat.pong' });
    await client.close();
  });

  it('a connection authenticated at the upgrade (Authorization header) is not capped', async () => {
    const client = await RawClient.open(server.wsUrl, { headers: { authorization: `Bearer ${await server.token({ roles: ['admin'] })}` } });
    await client.next((f) => f.type === 'connection.established');
    expect(await client.request({ type: 'publish', channel: 'agent:big', event: { type: 'note', payload: 'z'.repeat(PRE_AUTH_MAX_FRAME_BYTES * 2) } })).toMatchObject({ ok: true });
    await client.close();
  });
});
