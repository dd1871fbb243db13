import { channelConfigSchema, pageOf } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Channel configuration API: CRUD within the caller's organisation, settings that take
 * effect on the data plane at once, visibility, and tenant isolation. The organisations here
 * are known only from tokens (no `organizations` row), so the token's roles count.
 */

let server: TestServer;
let alice: string; // acme admin
let bob: string; // acme member
let hank: string; // globex admin

interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: { code: string } };
}

async function call(method: string, path: string, token: string, body?: unknown): Promise<Reply> {
  const response = await fetch(`${server.url}/api/v1/channels${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Reply['body']) };
}

const channelPage = pageOf(channelConfigSchema);
const namesOf = (reply: Reply) => channelPage.parse(reply.body).items.map((c) => c.name);

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.token({ org: 'acme', user: 'alice', roles: ['admin'] });
  bob = await server.token({ org: 'acme', user: 'bob', roles: ['member'] });
  hank = await server.token({ org: 'globex', user: 'hank', roles: ['admin'] });
  const setup = [
    { name: 'agent:support-bot', historySize: 50, persistEvents: true, auditPublishMode: 'sampled', auditSampleRate: 0.5 },
    { name: 'room:ops', permissions: { subscribe: ['ops'], publish: ['ops'] } },
    { name: 'room:open' },
  ];
  for (const body of setup) expect((await call('POST', '', alice, body)).status).toBe(201);
});
afterAll(() => server.stop());

describe('create', () => {
  it('creates a channel with its type derived from the name and its settings (201)', async () => {
    const reply = await call('POST', '', alice, { name: 'workflow:payroll', historyTtlMs: 60_000, acknowledgmentRequired: true });
    expect(reply.status).toBe(201);
    expect(channelConfigSchema.parse(reply.body)).toMatchObject({
      name: 'workflow:payroll',
      type: 'WORKFLOW_EVENTS',
      subscribers: 0,
      historySize: null,
      historyTtlMs: 60_000,
      acknowledgmentRequired: true,
      persistEvents: false,
      auditPublishMode: 'all',
      permissions: {},
    });
    expect((await call('GET', '/agent:support-bot', alice)).body).toMatchObject({ type: 'AGENT_EVENTS', historySize: 50, auditSampleRate: 0.5 });
    expect((await call('GET', '/room:ops', alice)).body).toMatchObject({ type: 'ORGANIZATION', permissions: { subscribe: ['ops'] } });
  });

  it('refuses malformed names with APIX_ERR_CHANNEL_INVALID, other bad bodies with APIX_ERR_INVALID_REQUEST, duplicates with 409', async () => {
    for (const name of ['Agent:x', 'agent:a/b', 'nope:x', 'agent:', 'user', 'agent:*', 42]) {
      expect(await call('POST', '', alice, { name }), String(name)).toMatchObject({ status: 400, body: { error: { code: 'APIX_ERR_CHANNEL_INVALID' } } });
    }
    const bad = [
      {},
      { name: 'agent:x', historySize: -1 },
      { name: 'agent:x', auditSampleRate: 2 },
      { name: 'agent:x', auditPublishMode: 'some' },
      { name: 'agent:x', permissions: { subscribe: ['Not A Role'] } },
      { name: 'agent:x', permissions: { delete: ['*'] } },
      { name: 'agent:x', type: 'SYSTEM_EVENTS' },
      { name: 'agent:x', subscribers: 1000 },
    ];
    for (const body of bad) {
      expect(await call('POST', '', alice, body), JSON.stringify(body)).toMatchObject({ status: 400, body: { error: { code: 'APIX_ERR_INVALID_REQUEST' } } });
    }
    expect(await call('POST', '', alice, { name: 'room:open' })).toMatchObject({ status: 409, body: { error: { code: 'APIX_ERR_CONFLICT' } } });
    expect((await call('GET', '/agent:x', alice)).status).toBe(404);
  });
});

describe('read', () => {
  it('lists channels a page at a time, filtered by type; bad queries are 400', async () => {
    const all = namesOf(await call('GET', '', alice));
    expect(all).toEqual(expect.arrayContaining(['agent:support-bot', 'room:ops', 'room:open']));
    const first = channelPage.parse((await call('GET', '?limit=2', alice)).body);
    expect(first.items).toHaveLength(2);
    const rest = channelPage.parse((await call('GET', `?limit=100&cursor=${encodeURIComponent(first.nextCursor!)}`, alice)).body);
    expect([...first.items, ...rest.items].map((c) => c.name)).toEqual(all);
    expect(rest.nextCursor).toBeNull();
    expect(namesOf(await call('GET', '?type=ORGANIZATION', alice))).toEqual(['room:open', 'room:ops']);
    for (const query of ['?limit=0', '?limit=x', '?type=NOPE', '?owner=me']) {
      expect((await call('GET', query, alice)).body.error?.code, query).toBe('APIX_ERR_INVALID_REQUEST');
    }
  });

  it('members see the channels they may subscribe to; the others answer 404 like unknown ones', async () => {
    const visible = namesOf(await call('GET', '', bob));
    expect(visible).toContain('room:open');
    expect(visible).not.toContain('room:ops');
    expect(await call('GET', '/room:open', bob)).toMatchObject({ status: 200, body: { name: 'room:open' } });
    const hidden = await call('GET', '/room:ops', bob);
    const unknown = await call('GET', '/room:never', bob);
    expect(hidden).toMatchObject({ status: 404, body: { error: { code: 'APIX_ERR_NOT_FOUND' } } });
    expect(hidden.body).toEqual(unknown.body);
    expect(await call('GET', '/Room:bad', bob)).toMatchObject({ status: 400, body: { error: { code: 'APIX_ERR_CHANNEL_INVALID' } } });
  });

  it('shows the subscriber count the server keeps current', async () => {
    expect((await call('POST', '', alice, { name: 'room:counted' })).status).toBe(201);
    const socket = await RawClient.connect(server.wsUrl, bob);
    expect(await socket.request({ type: 'subscribe', channels: ['room:counted'] })).toMatchObject({ ok: true });
    const deadline = Date.now() + 5_000;
    let subscribers = 0;
    while (subscribers !== 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      subscribers = channelConfigSchema.parse((await call('GET', '/room:counted', alice)).body).subscribers;
    }
    expect(subscribers).toBe(1);
    await socket.close();
  });
});

describe('update and delete', () => {
  it('updates settings (200) and the data plane follows at once: a subscription the new permissions forbid is revoked', async () => {
    expect((await call('POST', '', alice, { name: 'room:project' })).status).toBe(201);
    const socket = await RawClient.connect(server.wsUrl, bob);
    expect(await socket.request({ type: 'subscribe', channels: ['room:project'] })).toMatchObject({ ok: true });

    const updated = await call('PATCH', '/room:project', alice, { permissions: { subscribe: ['ops'], publish: ['admin'] }, historySize: 10 });
    expect(updated).toMatchObject({ status: 200, body: { permissions: { subscribe: ['ops'], publish: ['admin'] }, historySize: 10 } });
    expect(await socket.next((f) => f.type === 'subscription.removed', 2_000)).toMatchObject({ channel: 'room:project', reason: 'revoked' });
    const published = await fetch(`${server.url}/api/v1/channels/room:project/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'note', payload: 'mine?' }),
    });
    expect(published.status).toBe(403);
    // Fields left out keep their values; null returns a retention setting to the server default.
    expect((await call('PATCH', '/room:project', alice, { historySize: null })).body).toMatchObject({ historySize: null, permissions: { publish: ['admin'] } });
    await socket.close();
  });

  it('refuses bad updates (400) and unknown channels (404)', async () => {
    for (const body of [{ historySize: 'ten' }, { name: 'room:renamed' }, { permissions: { subscribe: 'everyone' } }, { auditSampleRate: -0.1 }]) {
      expect((await call('PATCH', '/room:open', alice, body)).body.error?.code, JSON.stringify(body)).toBe('APIX_ERR_INVALID_REQUEST');
    }
    expect((await call('PATCH', '/room:never', alice, { historySize: 1 })).status).toBe(404);
    expect((await call('PATCH', '/bad name', alice, { historySize: 1 })).body.error?.code).toBe('APIX_ERR_CHANNEL_INVALID');
  });

  it('deletes a configuration (204); afterwards it is 404', async () => {
    expect((await call('POST', '', alice, { name: 'tool:scratch' })).status).toBe(201);
    expect((await call('DELETE', '/tool:scratch', alice)).status).toBe(204);
    expect((await call('GET', '/tool:scratch', alice)).status).toBe(404);
    expect((await call('DELETE', '/tool:scratch', alice)).status).toBe(404);
  });

  it('a member may not create, update or delete (403), and nothing changes', async () => {
    for (const reply of [
      await call('POST', '', bob, { name: 'room:bobs' }),
      await call('PATCH', '/room:open', bob, { permissions: { subscribe: [] } }),
      await call('DELETE', '/room:open', bob),
    ]) {
      expect(reply).toMatchObject({ status: 403, body: { error: { code: 'APIX_ERR_FORBIDDEN' } } });
    }
    expect((await call('GET', '/room:bobs', alice)).status).toBe(404);
    expect((await call('GET', '/room:open', alice)).body).toMatchObject({ permissions: {} });
  });
});

describe('tenant isolation', () => {
  it("another organisation's channel of the same name is another channel; acme's are invisible and untouchable from globex", async () => {
    expect(await call('POST', '', hank, { name: 'agent:support-bot' })).toMatchObject({ status: 201, body: { historySize: null } });
    expect(namesOf(await call('GET', '', hank))).toEqual(['agent:support-bot']);
    expect((await call('GET', '/room:ops', hank)).status).toBe(404);
    expect((await call('PATCH', '/room:ops', hank, { permissions: { subscribe: ['*'] } })).status).toBe(404);
    expect((await call('DELETE', '/room:open', hank)).status).toBe(404);
    expect((await call('DELETE', '/agent:support-bot', hank)).status).toBe(204);
    expect((await call('GET', '/agent:support-bot', alice)).body).toMatchObject({ historySize: 50, persistEvents: true });
    expect((await call('GET', '/room:ops', alice)).body).toMatchObject({ permissions: { subscribe: ['ops'] } });
    expect((await call('GET', '/room:open', alice)).status).toBe(200);
  });
});

describe('audit', () => {
  it('records channel changes with the channel and the settings', async () => {
    await server.controlPlane.audit.flush();
    const rows = (await server.repositories.audit.query('acme', { actionPrefix: 'admin.channel.' })).rows;
    expect(rows.find((r) => r.action === 'admin.channel.created' && r.channel === 'room:ops')).toMatchObject({
      actorId: 'alice',
      outcome: 'success',
      details: { settings: { permissions: { subscribe: ['ops'] } } },
    });
    const updates = rows.filter((r) => r.action === 'admin.channel.updated' && r.channel === 'room:project').map((r) => r.details);
    expect(updates).toEqual([
      { from: { historySize: 10 }, to: { historySize: null } },
      { from: { permissions: {}, historySize: null }, to: { permissions: { subscribe: ['ops'], publish: ['admin'] }, historySize: 10 } },
    ]);
    expect(rows.some((r) => r.action === 'admin.channel.deleted' && r.channel === 'tool:scratch')).toBe(true);
    const globex = (await server.repositories.audit.query('globex', { actionPrefix: 'admin.channel.' })).rows;
    expect(globex.map((r) => r.action).sort()).toEqual(['admin.channel.created', 'admin.channel.deleted']);
  });
});
