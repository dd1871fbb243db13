import { connectionInfoSchema, pageOf, type ConnectionStatus } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** `GET /api/v1/connections`: organisation-scoped; admins see every connection, members their own. */

let server: TestServer;
let alice: string; // acme admin
let bob: string; // acme member
let hank: string; // globex admin
const sockets: RawClient[] = [];

const connectionPage = pageOf(connectionInfoSchema);

async function list(token: string, query = ''): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.url}/api/v1/connections${query}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

async function sessions(token: string, query = ''): Promise<Array<{ userId: string | null; clientType: string; status: ConnectionStatus; sessionId: string }>> {
  const reply = await list(token, query);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return connectionPage.parse(reply.body).items;
}

/** Opens a socket that says which kind of client it is. */
async function connectAs(token: string, clientType: string): Promise<{ client: RawClient; sessionId: string }> {
  const client = await RawClient.open(server.wsUrl);
  expect(await client.request({ type: 'connect', token, clientType })).toMatchObject({ ok: true });
  const established = await client.next((f) => f.type === 'connection.established');
  sockets.push(client);
  return { client, sessionId: established.sessionId as string };
}

/** Connection rows are written in the background: wait until storage shows `count` of them. */
async function untilListed(token: string, query: string, count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await sessions(token, query)).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} connections listed for ${query}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let bobMobile: string;
beforeAll(async () => {
  server = await startTestServer();
  alice = await server.token({ org: 'acme', user: 'alice', roles: ['admin'] });
  bob = await server.token({ org: 'acme', user: 'bob', roles: ['member'] });
  hank = await server.token({ org: 'globex', user: 'hank', roles: ['admin'] });
  await connectAs(alice, 'WEB_APP');
  bobMobile = (await connectAs(bob, 'MOBILE_APP')).sessionId;
  await connectAs(bob, 'API_CLIENT');
  await connectAs(hank, 'WEB_APP');
  await untilListed(alice, '', 3);
  await untilListed(hank, '', 1);
});
afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await server.stop();
});

describe('GET /api/v1/connections', () => {
  it("an admin sees all of the organisation's connections and none of another's", async () => {
    const rows = await sessions(alice);
    expect(rows.map((r) => `${r.userId}/${r.clientType}/${r.status}`).sort()).toEqual(['alice/WEB_APP/CONNECTED', 'bob/API_CLIENT/CONNECTED', 'bob/MOBILE_APP/CONNECTED']);
    expect((await sessions(hank)).map((r) => r.userId)).toEqual(['hank']);
  });

  it('filters by status, client type and user', async () => {
    expect((await sessions(alice, '?clientType=MOBILE_APP')).map((r) => r.sessionId)).toEqual([bobMobile]);
    expect((await sessions(alice, '?userId=bob')).map((r) => r.clientType).sort()).toEqual(['API_CLIENT', 'MOBILE_APP']);
    expect(await sessions(alice, '?userId=bob&clientType=WEB_APP')).toEqual([]);
    expect(await sessions(alice, '?status=SUSPENDED')).toEqual([]);
    expect((await sessions(alice, '?status=CONNECTED')).length).toBe(3);
  });

  it('pages through the list with limit and cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const reply = await list(alice, `?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      const page = connectionPage.parse(reply.body);
      expect(page.items.length).toBeLessThanOrEqual(1);
      seen.push(...page.items.map((r) => r.sessionId));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual((await sessions(alice)).map((r) => r.sessionId));
    expect(seen).toHaveLength(3);
  });

  it("a member sees only their own connections and may not ask for someone else's (403)", async () => {
    expect((await sessions(bob)).map((r) => r.userId)).toEqual(['bob', 'bob']);
    expect((await sessions(bob, '?userId=bob&clientType=MOBILE_APP')).map((r) => r.sessionId)).toEqual([bobMobile]);
    expect(await list(bob, '?userId=alice')).toMatchObject({ status: 403, body: { error: { code: 'APIX_ERR_FORBIDDEN' } } });
  });

  it('shows a closed connection as DISCONNECTED', async () => {
    const { client, sessionId } = await connectAs(alice, 'INTERNAL_SERVICE');
    await untilListed(alice, '?clientType=INTERNAL_SERVICE', 1);
    await client.close();
    const deadline = Date.now() + 5_000;
    let status: string | undefined;
    while (status !== 'DISCONNECTED' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await sessions(alice, '?clientType=INTERNAL_SERVICE')).find((r) => r.sessionId === sessionId)?.status;
    }
    expect(status).toBe('DISCONNECTED');
    expect((await sessions(alice, '?status=DISCONNECTED')).map((r) => r.sessionId)).toContain(sessionId);
  });

  it('refuses bad queries with 400 and missing credentials with 401', async () => {
    for (const query of ['?status=GONE', '?clientType=FRIDGE', '?limit=0', '?limit=1001', '?cursor=' + 'x'.repeat(501), '?organizationId=globex']) {
      expect(await list(alice, query), query).toMatchObject({ status: 400, body: { error: { code: 'APIX_ERR_INVALID_REQUEST' } } });
    }
    expect((await fetch(`${server.url}/api/v1/connections`)).status).toBe(401);
  });
});
