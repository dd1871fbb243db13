import { apiKeySummarySchema, createdApiKeySchema, memberSchema, pageOf } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditUnavailableError } from '../../src/audit/audit-logger.js';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Administration API end to end: organisations, members and API keys, who may call what,
 * tenant isolation, revocation reaching HTTP and open WebSockets, and the audit trail.
 */

let server: TestServer;
let root: string; // platform admin (operator-minted token of an unmanaged organisation)

interface Reply {
  status: number;
  /** Parsed JSON; tests parse it with the protocol's response schemas where they use its fields. */
  body: Record<string, unknown> & { error?: { code: string } };
}

async function call(method: string, path: string, token: string | undefined, body?: unknown): Promise<Reply> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Reply['body']) };
}

const orgPath = (org: string, rest = '') => `/api/v1/admin/organizations/${org}${rest}`;
let passwordCounter = 0;
const newPassword = () => `correct-horse-${++passwordCounter}-battery`;

/** Creates an organisation with one admin; returns the admin's user id and a token for them. */
async function organizationWithAdmin(org: string, email: string): Promise<{ adminId: string; adminToken: string }> {
  expect((await call('POST', '/api/v1/admin/organizations', root, { id: org, name: `${org} Inc.` })).status).toBe(201);
  const added = await call('POST', orgPath(org, '/members'), root, { email, password: newPassword(), roles: ['admin'] });
  expect(added.status).toBe(201);
  const adminId = memberSchema.parse(added.body).userId;
  return { adminId, adminToken: await server.token({ org, user: adminId, roles: ['admin'] }) };
}

async function addMember(org: string, adminToken: string, email: string, roles = ['member']): Promise<{ id: string; token: string }> {
  const added = await call('POST', orgPath(org, '/members'), adminToken, { email, password: newPassword(), roles });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  const id = memberSchema.parse(added.body).userId;
  return { id, token: await server.token({ org, user: id, roles }) };
}

async function auditRows(org: string, action?: string) {
  await server.controlPlane.audit.flush();
  return (await server.repositories.audit.query(org, action ? { action } : {})).rows;
}

let acme: { adminId: string; adminToken: string };
let bob: { id: string; token: string };

beforeAll(async () => {
  server = await startTestServer();
  root = await server.token({ org: 'ops', user: 'root', roles: ['platform-admin'] });
  acme = await organizationWithAdmin('acme', 'alice@acme.test');
  bob = await addMember('acme', acme.adminToken, 'bob@acme.test');
});
afterAll(() => server.stop());

describe('organisations', () => {
  it('a platform admin creates one (201); a duplicate id is 409; bad bodies are 400', async () => {
    const created = await call('POST', '/api/v1/admin/organizations', root, { id: 'initech', name: 'Initech' });
    expect(created).toMatchObject({ status: 201, body: { id: 'initech', name: 'Initech', createdAt: expect.any(String) } });
    expect(await call('POST', '/api/v1/admin/organizations', root, { id: 'initech', name: 'Again' })).toMatchObject({
      status: 409,
      body: { error: { code: 'APIX_ERR_CONFLICT' } },
    });
    for (const bad of [{ id: 'has/slash', name: 'x' }, { id: 'ok' }, { id: 'ok', name: '' }, { id: 'ok', name: 'x', extra: 1 }, 'not an object']) {
      expect((await call('POST', '/api/v1/admin/organizations', root, bad)).body.error?.code, JSON.stringify(bad)).toBe('APIX_ERR_INVALID_REQUEST');
    }
  });

  it('only platform admins create organisations: an org admin and an admin-scoped key get 403, no token 401', async () => {
    expect(await call('POST', '/api/v1/admin/organizations', acme.adminToken, { id: 'mine', name: 'Mine' })).toMatchObject({
      status: 403,
      body: { error: { code: 'APIX_ERR_FORBIDDEN' } },
    });
    expect((await call('POST', '/api/v1/admin/organizations', undefined, { id: 'mine', name: 'Mine' })).status).toBe(401);
    expect(await server.repositories.organizations.findById('mine')).toBeUndefined();
  });

  it('its admin reads and renames it; a member is refused with 403; an unknown id is 404', async () => {
    expect(await call('GET', orgPath('acme'), acme.adminToken)).toMatchObject({ status: 200, body: { id: 'acme', name: 'acme Inc.' } });
    expect(await call('PATCH', orgPath('acme'), acme.adminToken, { name: 'ACME Corporation' })).toMatchObject({ status: 200, body: { name: 'ACME Corporation' } });
    expect((await call('PATCH', orgPath('acme'), acme.adminToken, { name: '' })).body.error?.code).toBe('APIX_ERR_INVALID_REQUEST');
    expect((await call('PATCH', orgPath('acme'), acme.adminToken, { id: 'other' })).body.error?.code).toBe('APIX_ERR_INVALID_REQUEST');
    expect(await call('GET', orgPath('acme'), bob.token)).toMatchObject({ status: 403, body: { error: { code: 'APIX_ERR_FORBIDDEN' } } });
    expect((await call('PATCH', orgPath('acme'), bob.token, { name: 'Bob Corp' })).status).toBe(403);
    expect(await call('GET', orgPath('no-such-org'), root)).toMatchObject({ status: 404, body: { error: { code: 'APIX_ERR_NOT_FOUND' } } });
    expect((await call('PATCH', orgPath('no-such-org'), root, { name: 'x' })).status).toBe(404);
    expect((await call('GET', orgPath('bad%20id'), root)).status).toBe(404);
  });
});

describe('members', () => {
  it('adds a new user with a password, or an existing user by email; lists them a page at a time', async () => {
    const { adminToken } = await organizationWithAdmin('members-co', 'admin@members.test');
    const carol = await call('POST', orgPath('members-co', '/members'), adminToken, { email: 'Carol@Members.test', password: newPassword(), name: 'Carol', roles: ['ops'] });
    expect(carol).toMatchObject({ status: 201, body: { email: 'carol@members.test', name: 'Carol', roles: ['ops'], disabled: false } });
    // bob exists (member of acme): added by email alone, his account untouched.
    const bobHere = await call('POST', orgPath('members-co', '/members'), adminToken, { email: 'bob@acme.test' });
    expect(bobHere).toMatchObject({ status: 201, body: { userId: bob.id, roles: ['member'] } });

    const members = pageOf(memberSchema);
    const first = members.parse((await call('GET', orgPath('members-co', '/members?limit=2'), adminToken)).body);
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = members.parse((await call('GET', orgPath('members-co', `/members?limit=2&cursor=${first.nextCursor}`), adminToken)).body);
    expect(second.nextCursor).toBeNull();
    const all = [...first.items, ...second.items];
    expect(all.map((m) => m.email).sort()).toEqual(['admin@members.test', 'bob@acme.test', 'carol@members.test']);
    for (const member of all) expect(Object.keys(member).sort()).toEqual(['disabled', 'email', 'joinedAt', 'name', 'roles', 'userId']);
    expect((await call('GET', orgPath('members-co', '/members?limit=0'), adminToken)).status).toBe(400);
    expect((await call('GET', orgPath('members-co', '/members?page=2'), adminToken)).status).toBe(400);
  });

  it('refuses bad input: unknown email without password 404, existing email with password 409, already a member 409, schema 400, platform-admin role 403', async () => {
    const path = orgPath('acme', '/members');
    expect(await call('POST', path, acme.adminToken, { email: 'nobody@acme.test' })).toMatchObject({ status: 404, body: { error: { code: 'APIX_ERR_NOT_FOUND' } } });
    expect(await call('POST', path, acme.adminToken, { email: 'bob@acme.test', password: newPassword() })).toMatchObject({ status: 409 });
    expect(await call('POST', path, acme.adminToken, { email: 'bob@acme.test' })).toMatchObject({ status: 409, body: { error: { code: 'APIX_ERR_CONFLICT' } } });
    for (const bad of [{ email: 'not-an-email' }, { email: 'x@acme.test', password: 'short' }, { email: 'x@acme.test', roles: ['Not A Role'] }, { email: 'x@acme.test', surprise: true }]) {
      expect((await call('POST', path, acme.adminToken, bad)).body.error?.code, JSON.stringify(bad)).toBe('APIX_ERR_INVALID_REQUEST');
    }
    expect(await call('POST', path, acme.adminToken, { email: 'x@acme.test', password: newPassword(), roles: ['platform-admin'] })).toMatchObject({
      status: 403,
      body: { error: { code: 'APIX_ERR_FORBIDDEN' } },
    });
    expect((await call('PATCH', orgPath('acme', `/members/${bob.id}`), acme.adminToken, { roles: ['platform-admin'] })).status).toBe(403);
    expect(await server.repositories.users.findByEmail('x@acme.test')).toBeUndefined();
  });

  it('changes roles and removes members; unknown members are 404; the last admin stays (409)', async () => {
    const { adminId, adminToken } = await organizationWithAdmin('roles-co', 'admin@roles.test');
    const dave = await addMember('roles-co', adminToken, 'dave@roles.test');
    expect(await call('PATCH', orgPath('roles-co', `/members/${dave.id}`), adminToken, { roles: ['member', 'ops'] })).toMatchObject({
      status: 200,
      body: { userId: dave.id, roles: ['member', 'ops'] },
    });
    expect((await call('PATCH', orgPath('roles-co', `/members/${dave.id}`), adminToken, { roles: 'ops' })).status).toBe(400);
    expect((await call('PATCH', orgPath('roles-co', '/members/no-such-user'), adminToken, { roles: [] })).status).toBe(404);
    expect(await call('PATCH', orgPath('roles-co', `/members/${adminId}`), adminToken, { roles: ['member'] })).toMatchObject({
      status: 409,
      body: { error: { code: 'APIX_ERR_CONFLICT' } },
    });
    expect((await call('DELETE', orgPath('roles-co', `/members/${adminId}`), adminToken)).status).toBe(409);
    expect((await call('DELETE', orgPath('roles-co', `/members/${dave.id}`), adminToken)).status).toBe(204);
    expect((await call('DELETE', orgPath('roles-co', `/members/${dave.id}`), adminToken)).status).toBe(404);
    expect(await server.repositories.memberships.find('roles-co', adminId)).toMatchObject({ roles: ['admin'] });
  });

  it('a member is refused with 403 on every member and key endpoint', async () => {
    const refused = [
      await call('GET', orgPath('acme', '/members'), bob.token),
      await call('POST', orgPath('acme', '/members'), bob.token, { email: 'eve@acme.test', password: newPassword() }),
      await call('PATCH', orgPath('acme', `/members/${bob.id}`), bob.token, { roles: ['admin'] }),
      await call('DELETE', orgPath('acme', `/members/${acme.adminId}`), bob.token),
      await call('GET', orgPath('acme', '/api-keys'), bob.token),
      await call('POST', orgPath('acme', '/api-keys'), bob.token, { name: 'mine', scopes: ['publish'] }),
      await call('DELETE', orgPath('acme', '/api-keys/some-key'), bob.token),
    ];
    for (const reply of refused) expect(reply).toMatchObject({ status: 403, body: { error: { code: 'APIX_ERR_FORBIDDEN' } } });
    expect(await server.repositories.memberships.find('acme', bob.id)).toMatchObject({ roles: ['member'] });
  });

  it('a demoted admin loses admin power at once, whatever their token says', async () => {
    const { adminToken } = await organizationWithAdmin('demote-co', 'admin@demote.test');
    const erin = await addMember('demote-co', adminToken, 'erin@demote.test', ['admin']);
    expect((await call('GET', orgPath('demote-co', '/members'), erin.token)).status).toBe(200);
    expect((await call('PATCH', orgPath('demote-co', `/members/${erin.id}`), adminToken, { roles: ['member'] })).status).toBe(200);
    // erin's token still claims `admin`; her membership row no longer does.
    expect((await call('GET', orgPath('demote-co', '/members'), erin.token)).status).toBe(403);
  });

  it('removing a member closes their WebSocket with 4501, and they receive nothing published after the DELETE returned', async () => {
    const frank = await addMember('acme', acme.adminToken, 'frank@acme.test');
    const socket = await RawClient.connect(server.wsUrl, frank.token);
    expect(await socket.request({ type: 'subscribe', channels: ['room:lobby'] })).toMatchObject({ ok: true });
    const publish = (payload: string) => call('POST', '/api/v1/channels/room:lobby/events', acme.adminToken, { type: 'note', payload });
    expect((await publish('before')).status).toBe(201);
    await expect.poll(() => socket.events('room:lobby').some((f) => (f.event as { type: string }).type === 'note')).toBe(true);

    const started = Date.now();
    expect((await call('DELETE', orgPath('acme', `/members/${frank.id}`), acme.adminToken)).status).toBe(204);
    expect((await publish('after')).status).toBe(201);
    expect((await socket.closed).code).toBe(4501);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Presence announcements of the room aside, only what was published before the DELETE.
    expect(socket.events('room:lobby').filter((f) => (f.event as { type: string }).type === 'note').map((f) => (f.event as { payload: unknown }).payload)).toEqual(['before']);
    // Their token is refused from now on, over HTTP too.
    expect((await call('POST', '/api/v1/channels/room:lobby/events', frank.token, { type: 'note', payload: 'x' })).status).toBe(403);
  });
});

describe('API keys', () => {
  it('creates a key shown once, lists keys without secrets, and refuses bad input', async () => {
    const reply = await call('POST', orgPath('acme', '/api-keys'), acme.adminToken, { name: 'ci', scopes: ['publish', 'history'] });
    expect(reply).toMatchObject({ status: 201, body: { name: 'ci', scopes: ['publish', 'history'], key: expect.stringMatching(/^apix_/) } });
    const created = createdApiKeySchema.parse(reply.body);
    const listed = await call('GET', orgPath('acme', '/api-keys'), acme.adminToken);
    expect(listed.status).toBe(200);
    const entry = pageOf(apiKeySummarySchema).parse(listed.body).items.find((k) => k.id === created.id);
    expect(entry).toMatchObject({ name: 'ci', revokedAt: null, createdByUserId: acme.adminId, prefix: created.key.split('_')[1] });
    // The secret is everything after the key id; it is base64url, so it may itself hold "_".
    const secret = /^apix_[A-Za-z0-9]+_(.+)$/.exec(created.key)![1]!;
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(JSON.stringify(listed.body)).not.toMatch(/hash/i);
    for (const bad of [{ name: 'x', scopes: [] }, { name: 'x', scopes: ['root'] }, { scopes: ['publish'] }, { name: 'x', scopes: ['publish'], key: 'mine' }]) {
      expect((await call('POST', orgPath('acme', '/api-keys'), acme.adminToken, bad)).body.error?.code, JSON.stringify(bad)).toBe('APIX_ERR_INVALID_REQUEST');
    }
    expect((await call('DELETE', orgPath('acme', '/api-keys/no-such-key'), acme.adminToken)).status).toBe(404);
  });

  it('a new key publishes over HTTP and connects a WebSocket; after revocation both stop within 5 s (WebSocket: 4500)', async () => {
    const created = createdApiKeySchema.parse((await call('POST', orgPath('acme', '/api-keys'), acme.adminToken, { name: 'svc', scopes: ['publish', 'subscribe'] })).body);
    const key = created.key;
    const publish = () => call('POST', '/api/v1/channels/agent:bot/events', key, { type: 'status', payload: { ok: true } });
    expect(await publish()).toMatchObject({ status: 201, body: { offset: expect.any(Number) } });
    const socket = await RawClient.open(server.wsUrl, { headers: { authorization: `Bearer ${key}` } });
    await socket.next((f) => f.type === 'connection.established');
    expect(await socket.request({ type: 'subscribe', channels: ['agent:bot'] })).toMatchObject({ ok: true });

    const started = Date.now();
    expect((await call('DELETE', orgPath('acme', `/api-keys/${created.id}`), acme.adminToken)).status).toBe(204);
    expect((await socket.closed).code).toBe(4500);
    expect(await publish()).toMatchObject({ status: 401, body: { error: { code: 'APIX_ERR_AUTH_FAILED' } } });
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(RawClient.open(server.wsUrl, { headers: { authorization: `Bearer ${key}` } })).rejects.toMatchObject({ status: 401 });
    expect((await call('DELETE', orgPath('acme', `/api-keys/${created.id}`), acme.adminToken)).status).toBe(404);
    const listed = pageOf(apiKeySummarySchema).parse((await call('GET', orgPath('acme', '/api-keys'), acme.adminToken)).body);
    expect(listed.items.find((k) => k.id === created.id)?.revokedAt).toEqual(expect.any(String));
  });

  it('a key with the admin scope administers its own organisation only', async () => {
    const { key } = createdApiKeySchema.parse((await call('POST', orgPath('acme', '/api-keys'), acme.adminToken, { name: 'automation', scopes: ['admin'] })).body);
    expect((await call('GET', orgPath('acme', '/members'), key)).status).toBe(200);
    expect((await call('GET', orgPath('initech'), key)).status).toBe(404);
    const publisherKey = createdApiKeySchema.parse((await call('POST', orgPath('acme', '/api-keys'), acme.adminToken, { name: 'pub', scopes: ['publish'] })).body);
    expect((await call('GET', orgPath('acme', '/members'), publisherKey.key)).status).toBe(403);
    expect((await call('POST', orgPath('acme', '/api-keys'), key, { name: 'made-by-key', scopes: ['publish'] })).body).toMatchObject({ name: 'made-by-key' });
  });
});

describe('tenant isolation', () => {
  it("another organisation's admin gets 404 on every endpoint of acme, exactly as for an unknown organisation, and nothing changes", async () => {
    const { adminToken: globexAdmin } = await organizationWithAdmin('globex', 'hank@globex.test');
    const keysBefore = (await call('GET', orgPath('acme', '/api-keys'), acme.adminToken)).body;
    const membersBefore = (await call('GET', orgPath('acme', '/members'), acme.adminToken)).body;
    const anyKeyId = pageOf(apiKeySummarySchema).parse(keysBefore).items[0]!.id;
    const attempts = (org: string) => [
      call('GET', orgPath(org), globexAdmin),
      call('PATCH', orgPath(org), globexAdmin, { name: 'Taken over' }),
      call('GET', orgPath(org, '/members'), globexAdmin),
      call('POST', orgPath(org, '/members'), globexAdmin, { email: 'hank@globex.test', roles: ['admin'] }),
      call('PATCH', orgPath(org, `/members/${acme.adminId}`), globexAdmin, { roles: ['member'] }),
      call('DELETE', orgPath(org, `/members/${bob.id}`), globexAdmin),
      call('GET', orgPath(org, '/api-keys'), globexAdmin),
      call('POST', orgPath(org, '/api-keys'), globexAdmin, { name: 'backdoor', scopes: ['admin'] }),
      call('DELETE', orgPath(org, `/api-keys/${anyKeyId}`), globexAdmin),
    ];
    const onAcme = await Promise.all(attempts('acme'));
    const onNowhere = await Promise.all(attempts('no-such-org'));
    for (const [i, reply] of onAcme.entries()) {
      expect(reply, `attempt ${i}`).toMatchObject({ status: 404, body: { error: { code: 'APIX_ERR_NOT_FOUND' } } });
      expect(reply.body).toEqual(onNowhere[i]!.body);
    }
    expect((await call('GET', orgPath('acme'), acme.adminToken)).body.name).toBe('ACME Corporation');
    expect((await call('GET', orgPath('acme', '/members'), acme.adminToken)).body).toEqual(membersBefore);
    expect((await call('GET', orgPath('acme', '/api-keys'), acme.adminToken)).body).toEqual(keysBefore);
    // The attempts are on globex's own trail, not on acme's.
    expect((await auditRows('globex', 'admin.access.denied')).length).toBeGreaterThanOrEqual(9);
    expect((await auditRows('acme')).filter((r) => r.actorId === 'hank@globex.test' || r.details.actorOrganizationId === 'globex')).toEqual([]);
  });
});

describe('audit of admin actions', () => {
  it('records every admin change with its actor, and refusals as denied', async () => {
    const rows = await auditRows('acme');
    const actions = new Set(rows.map((r) => r.action));
    for (const action of ['admin.organization.created', 'admin.organization.updated', 'admin.member.added', 'admin.member.removed', 'admin.api_key.created', 'admin.api_key.revoked']) {
      expect(actions, action).toContain(action);
    }
    const renamed = rows.find((r) => r.action === 'admin.organization.updated')!;
    expect(renamed).toMatchObject({ actorType: 'user', actorId: acme.adminId, outcome: 'success', target: 'acme' });
    const created = rows.find((r) => r.action === 'admin.organization.created')!;
    expect(created).toMatchObject({ actorId: 'root', details: { actorOrganizationId: 'ops' } });
    expect(rows.some((r) => r.action === 'admin.access.denied' && r.outcome === 'denied' && r.actorId === bob.id)).toBe(true);
    // No plain key ever reaches the trail.
    expect(JSON.stringify(rows)).not.toMatch(/apix_[0-9a-f]{18}_/);
  });

  it('fails closed: when the audit trail cannot keep the row, the answer is 503 and nothing changes', async () => {
    const spy = vi.spyOn(server.controlPlane.audit, 'record').mockImplementation(() => {
      throw new AuditUnavailableError('spool full');
    });
    try {
      expect(await call('PATCH', orgPath('acme'), acme.adminToken, { name: 'Unaudited' })).toMatchObject({
        status: 503,
        body: { error: { code: 'APIX_ERR_UNAVAILABLE', retryable: true } },
      });
      expect((await call('POST', orgPath('acme', '/api-keys'), acme.adminToken, { name: 'unaudited', scopes: ['admin'] })).status).toBe(503);
      expect((await call('DELETE', orgPath('acme', `/members/${bob.id}`), acme.adminToken)).status).toBe(503);
    } finally {
      spy.mockRestore();
    }
    expect((await server.repositories.organizations.findById('acme'))!.name).toBe('ACME Corporation');
    expect((await server.repositories.apiKeys.listByOrganization('acme')).some((k) => k.name === 'unaudited')).toBe(false);
    expect(await server.repositories.memberships.find('acme', bob.id)).toBeDefined();
  });

  it('a change that fails after its row was recorded is followed by a failure row', async () => {
    await call('POST', '/api/v1/admin/organizations', root, { id: 'acme', name: 'Duplicate' });
    const rows = await auditRows('acme', 'admin.organization.created');
    expect(rows.map((r) => r.outcome)).toContain('failure');
    expect(rows.find((r) => r.outcome === 'failure')).toMatchObject({ details: { error: 'APIX_ERR_CONFLICT' } });
  });
});

describe('OpenAPI', () => {
  it('documents every administration route with schemas generated from the protocol', async () => {
    const { adminOpenApiPaths } = await import('../../src/http/openapi-admin-paths.js');
    const operations = Object.entries(adminOpenApiPaths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(
      [
        'POST /api/v1/admin/organizations',
        'GET /api/v1/admin/organizations/{org}',
        'PATCH /api/v1/admin/organizations/{org}',
        'GET /api/v1/admin/organizations/{org}/members',
        'POST /api/v1/admin/organizations/{org}/members',
        'PATCH /api/v1/admin/organizations/{org}/members/{userId}',
        'DELETE /api/v1/admin/organizations/{org}/members/{userId}',
        'GET /api/v1/admin/organizations/{org}/api-keys',
        'POST /api/v1/admin/organizations/{org}/api-keys',
        'DELETE /api/v1/admin/organizations/{org}/api-keys/{keyId}',
        'GET /api/v1/channels',
        'POST /api/v1/channels',
        'GET /api/v1/channels/{channel}',
        'PATCH /api/v1/channels/{channel}',
        'DELETE /api/v1/channels/{channel}',
        'GET /api/v1/connections',
        'GET /api/v1/audit/logs',
        'GET /api/v1/audit/summary',
        'GET /api/v1/audit/compliance-report',
        'POST /api/v1/audit/log-event',
      ].sort(),
    );
    const document = JSON.stringify(adminOpenApiPaths);
    expect(document).toContain('"in":"query"');
    expect(document).not.toContain('"$schema"');
  });
});
