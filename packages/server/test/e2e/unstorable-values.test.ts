import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Issue 7, finding 1, at the edge of a real server: a value storage cannot hold (NUL, an
 * unpaired surrogate) is refused with APIX_ERR_UNSTORABLE_VALUE on the WebSocket and over
 * HTTP, nothing of it is written, and the process keeps serving (another tenant's records
 * still go through).
 */
let server: TestServer;
const NUL = '\u0000';
const LONE = '\uD800';

async function post(path: string, token: string, body: unknown): Promise<{ status: number; body: { error?: { code: string; retryable: boolean } } }> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { error?: { code: string; retryable: boolean } } };
}

beforeAll(async () => {
  server = await startTestServer();
}, 60_000);
afterAll(() => server.stop(), 60_000);

describe('values storage cannot hold are refused at the edge', () => {
  it('WebSocket: connect metadata and publish payload/metadata get APIX_ERR_UNSTORABLE_VALUE', async () => {
    const socket = await RawClient.open(server.wsUrl);
    const refusedConnect = await socket.request({ type: 'connect', token: await server.token(), metadata: { device: `x${NUL}` } });
    expect(refusedConnect).toMatchObject({ ok: false, error: { code: 'APIX_ERR_UNSTORABLE_VALUE', retryable: false } });
    socket.socket.close();

    const client = await RawClient.connect(server.wsUrl, await server.token({ org: 'acme' }));
    for (const event of [
      { type: 'note', payload: { text: `a${NUL}b` } },
      { type: 'note', payload: { [`k${NUL}`]: 1 } },
      { type: 'note', payload: [`x${LONE}`] },
      { type: 'note', payload: 1, metadata: { app: `m${NUL}` } },
    ]) {
      const reply = await client.request({ type: 'publish', channel: 'agent:a1', event });
      expect(reply, JSON.stringify(event)).toMatchObject({ ok: false, error: { code: 'APIX_ERR_UNSTORABLE_VALUE', retryable: false } });
    }
    expect(await client.request({ type: 'publish', channel: 'agent:a1', event: { type: 'note', payload: 'fine 😀' } })).toMatchObject({ ok: true });
    client.socket.close();
  });

  it('HTTP: publish, audit log-event and register bodies get 400 APIX_ERR_UNSTORABLE_VALUE', async () => {
    const admin = await server.token({ org: 'acme', user: 'alice', roles: ['admin'] });
    const refusals = [
      await post('/api/v1/channels/agent:a1/events', admin, { type: 'note', payload: { text: `a${NUL}` } }),
      await post('/api/v1/channels/agent:a1/events', admin, { type: 'note', payload: { text: `a${LONE}` } }),
      await post('/api/v1/audit/log-event', admin, { action: 'invoice.approved', target: `t${NUL}` }),
      await post('/api/v1/audit/log-event', admin, { action: 'invoice.approved', details: { [`k${NUL}`]: 1 } }),
      await post('/api/v1/auth/register', admin, { email: 'n@example.com', password: 'long enough pw', name: `n${NUL}`, organization: { id: 'neworg', name: 'New' } }),
    ];
    for (const refusal of refusals) expect(refusal).toMatchObject({ status: 400, body: { error: { code: 'APIX_ERR_UNSTORABLE_VALUE', retryable: false } } });
    // Nothing refused was recorded; a clean event from the same caller still is.
    expect((await post('/api/v1/audit/log-event', admin, { action: 'invoice.approved', target: 'clean' })).status).toBe(202);
    await server.controlPlane.audit.flush();
    const rows = (await server.repositories.audit.query('acme', { action: 'invoice.approved' })).rows;
    expect(rows.map((r) => r.target)).toEqual(['clean']);
    expect(server.controlPlane.audit.stats()).toMatchObject({ quarantined: 0, storageFailing: false });
  });
});
