import { CloseCodes } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultQuotasFrom } from '../../src/limits/limits-from-config.js';
import { StoredQuotas } from '../../src/limits/stored-quotas.js';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** Issue 7, findings 3–4: per-organisation quotas with defaults and stored overrides. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ QUOTA_CONNECTIONS: 2, QUOTA_SUBSCRIPTIONS: 3, QUOTA_HISTORY_BYTES: 20_000, QUOTA_CHANNELS: 3 });
});
afterAll(() => server.stop());

const connect = async (org: string, user = 'u') => RawClient.connect(server.wsUrl, await server.token({ org, user, roles: ['admin'] }));
const operator = async () => ({ authorization: `Bearer ${await server.token({ org: 'operators', user: 'root', roles: ['platform-admin'] })}`, 'content-type': 'application/json' });

async function eventually(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Opens a connection expected to be refused for the organisation's connection quota. */
async function refusedConnection(org: string) {
  const client = await RawClient.open(server.wsUrl);
  const reply = await client.request({ type: 'connect', token: await server.token({ org, user: 'extra' }) });
  const error = await client.next((f) => f.type === 'connection.error');
  return { reply, error, closed: await client.closed };
}

describe('connections per organisation', () => {
  it('refuses the connection past the quota with QUOTA_EXCEEDED and 4005; other organisations are unaffected; room comes back', async () => {
    const open = [await connect('q-conn', 'a'), await connect('q-conn', 'b')];
    const refused = await refusedConnection('q-conn');
    expect(refused.error).toMatchObject({ error: { code: 'APIX_ERR_QUOTA_EXCEEDED', details: { quota: 'connections', limit: 2 } } });
    expect(refused.closed.code).toBe(CloseCodes.RATE_LIMITED);
    const bystander = await connect('q-other');
    await open[0]!.close();
    await eventually(async () => {
      const client = await RawClient.open(server.wsUrl);
      await client.request({ type: 'connect', token: await server.token({ org: 'q-conn', user: 'c' }) });
      const outcome = await Promise.race([client.next((f) => f.type === 'connection.established').then(() => true), client.closed.then(() => false)]);
      await client.close();
      return outcome;
    });
    await Promise.all([open[1]!.close(), bystander.close()]);
  });
});

describe('subscriptions per organisation', () => {
  it('refuses subscriptions past the quota, over all the organisation’s connections, and frees them on unsubscribe', async () => {
    const [a, b] = [await connect('q-subs', 'a'), await connect('q-subs', 'b')];
    expect(await a.request({ type: 'subscribe', channels: ['agent:1', 'agent:2'] })).toMatchObject({ ok: true });
    expect(await b.request({ type: 'subscribe', channels: ['agent:3'] })).toMatchObject({ ok: true });
    expect(await b.request({ type: 'subscribe', channels: ['agent:4'] })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_QUOTA_EXCEEDED', details: { quota: 'subscriptions' } } });
    expect(await a.request({ type: 'unsubscribe', channels: ['agent:1'] })).toMatchObject({ ok: true });
    expect(await b.request({ type: 'subscribe', channels: ['agent:4'] })).toMatchObject({ ok: true });
    await a.close();
    await eventually(async () => (await b.request({ type: 'subscribe', channels: ['agent:5'] })).ok === true);
    await b.close();
  });
});

describe('history bytes and channels per organisation (memory engine)', () => {
  it('keeps an organisation’s history within its byte quota: a busy channel drops its oldest events', async () => {
    const client = await connect('q-bytes');
    const payload = 'p'.repeat(3_000);
    for (let i = 0; i < 12; i++) expect(await client.request({ type: 'publish', channel: 'agent:big', event: { type: 'note', payload } })).toMatchObject({ ok: true });
    const history = await client.request({ type: 'history', channel: 'agent:big', limit: 100 });
    const kept = (history.result as { publications: Array<{ offset: number }> }).publications;
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length * 3_000).toBeLessThanOrEqual(20_000);
    expect(kept.at(-1)!.offset).toBe(12); // the newest is kept
    // Another channel cannot add what the organisation has no room for.
    const refused = await client.request({ type: 'publish', channel: 'agent:second', event: { type: 'note', payload: 'q'.repeat(8_000) } });
    expect(refused).toMatchObject({ ok: false, error: { code: 'APIX_ERR_QUOTA_EXCEEDED', details: { quota: 'historyBytes' } } });
    // Another organisation is unaffected.
    const other = await connect('q-bytes-other');
    expect(await other.request({ type: 'publish', channel: 'agent:second', event: { type: 'note', payload: 'q'.repeat(8_000) } })).toMatchObject({ ok: true });
    await Promise.all([client.close(), other.close()]);
  });

  it('refuses a new channel past the channels quota', async () => {
    const client = await connect('q-channels');
    for (const n of [1, 2, 3]) expect(await client.request({ type: 'publish', channel: `agent:c${n}`, event: { type: 'note' } })).toMatchObject({ ok: true });
    expect(await client.request({ type: 'publish', channel: 'agent:c4', event: { type: 'note' } })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_QUOTA_EXCEEDED', details: { quota: 'channels' } } });
    expect(await client.request({ type: 'publish', channel: 'agent:c1', event: { type: 'note' } })).toMatchObject({ ok: true });
    await client.close();
  });
});

describe('overrides', () => {
  const quotasUrl = (org: string) => `${server.url}/api/v1/admin/organizations/${org}/quotas`;

  it('a platform admin raises one organisation’s quota; it applies at once and is stored', async () => {
    const open = [await connect('q-vip', 'a'), await connect('q-vip', 'b')];
    expect((await refusedConnection('q-vip')).closed.code).toBe(CloseCodes.RATE_LIMITED);

    const put = await fetch(quotasUrl('q-vip'), { method: 'PUT', headers: await operator(), body: JSON.stringify({ connections: 5 }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ organizationId: 'q-vip', effective: { connections: 5, subscriptions: 3 }, overrides: { connections: 5 } });
    open.push(await connect('q-vip', 'c'));

    // Stored: a node starting now loads it.
    const reloaded = await StoredQuotas.load(server.database.db, defaultQuotasFrom(server.config));
    expect(reloaded.quotasOf('q-vip').connections).toBe(5);
    expect(reloaded.quotasOf('q-someone-else').connections).toBe(2);
    await Promise.all(open.map((c) => c.close()));
  });

  it('an organisation reads its own quotas but cannot set them; bad bodies are 400', async () => {
    const own = { authorization: `Bearer ${await server.token({ org: 'q-self', roles: ['admin'] })}`, 'content-type': 'application/json' };
    expect(await (await fetch(quotasUrl('q-self'), { headers: own })).json()).toMatchObject({ effective: { connections: 2 } });
    expect((await fetch(quotasUrl('q-vip'), { headers: own })).status).toBe(404);
    expect((await fetch(quotasUrl('q-self'), { method: 'PUT', headers: own, body: JSON.stringify({ connections: 1000 }) })).status).toBe(403);
    expect((await fetch(quotasUrl('q-self'), { method: 'PUT', headers: await operator(), body: JSON.stringify({ connections: -1 }) })).status).toBe(400);
  });
});
