import { tokenResponseSchema } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Issue 7, finding 2: an organisation id that only tokens have used (dev tokens, an external
 * issuer) must not be claimable through self-registration. Self-registration gets a generated
 * id; only a platform admin may name one, and never one with any stored trace.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

let sequence = 0;
const unique = (prefix: string) => `${prefix}-${++sequence}-${Math.random().toString(36).slice(2, 8)}`;
const account = (organization: { id?: string; name: string }) => ({ email: `${unique('u')}@example.com`, password: 'correct horse battery', organization });

function register(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/api/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function publishOverHttp(token: string, channel: string): Promise<Response> {
  return fetch(`${server.url}/api/v1/channels/${encodeURIComponent(channel)}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ type: 'note', payload: { secret: 'history of the rightful owner' } }),
  });
}

async function expectError(response: Response, status: number, code: string) {
  const body = (await response.json()) as { error: { code: string; details?: Record<string, unknown> } };
  expect({ status: response.status, body }).toMatchObject({ status, body: { error: { code } } });
  return body.error;
}

const platformAdmin = async () => ({ authorization: `Bearer ${await server.token({ org: 'operators', user: 'root', roles: ['platform-admin'] })}` });

describe('organisation takeover through self-registration', () => {
  it('an id used only by tokens (no stored row at all) cannot be claimed by registering it', async () => {
    const victim = unique('victim');
    const rightful = await server.token({ org: victim, user: 'backend', roles: ['admin'] });
    expect((await publishOverHttp(rightful, 'agent:ops')).status).toBe(201);

    await expectError(await register(account({ id: victim, name: 'Takeover' })), 403, 'APIX_ERR_FORBIDDEN');
    expect(await server.repositories.organizations.findById(victim)).toBeUndefined();
    // The rightful tokens still work: the organisation did not become "managed" by someone else.
    expect((await publishOverHttp(rightful, 'agent:ops')).status).toBe(201);

    // Registering without an id works, and lands somewhere else.
    const response = await register(account({ name: 'Fresh' }));
    expect(response.status).toBe(201);
    expect(tokenResponseSchema.parse(await response.json()).organizationId).not.toBe(victim);
  });

  it('a non-admin bearer token does not unlock naming the id; a bad one is refused', async () => {
    const member = await server.token({ org: unique('o'), user: 'someone', roles: ['admin'] });
    await expectError(await register(account({ id: unique('x'), name: 'X' }), { authorization: `Bearer ${member}` }), 403, 'APIX_ERR_FORBIDDEN');
    await expectError(await register(account({ id: unique('x'), name: 'X' }), { authorization: 'Bearer not-a-token' }), 401, 'APIX_ERR_AUTH_FAILED');
  });

  it.each([
    ['audit_log', async (organizationId: string) => {
      await server.repositories.audit.insertBatch([
        { organizationId, actorType: 'user', actorId: 'ext', action: 'publish', channel: 'agent:a', target: null, outcome: 'success', details: {}, createdAt: new Date() },
      ]);
    }],
    ['events', async (organizationId: string) => {
      await server.repositories.events.appendBatch([{ organizationId, channel: 'agent:a', epoch: 'e1', offset: 1, eventType: 'note', payload: {} }]);
    }],
    ['channels', async (organizationId: string) => {
      await server.repositories.channels.create(organizationId, 'agent:a');
    }],
  ])('even a platform admin cannot name an id that has rows in %s', async (table, seed) => {
    const organizationId = unique('used');
    await seed(organizationId);
    const error = await expectError(await register(account({ id: organizationId, name: 'Claim' }), await platformAdmin()), 409, 'APIX_ERR_CONFLICT');
    expect(error.details).toMatchObject({ foundIn: table });
    expect(await server.repositories.organizations.findById(organizationId)).toBeUndefined();
  });
});

describe('registration closed', () => {
  let closed: TestServer;
  beforeAll(async () => {
    closed = await startTestServer({ REGISTRATION: 'closed' });
  });
  afterAll(() => closed.stop());

  it('refuses self-service, and still lets a platform admin create an organisation with its first admin', async () => {
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${closed.url}/api/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    await expectError(await post(account({ name: 'Nope' })), 403, 'APIX_ERR_FORBIDDEN');
    const admin = { authorization: `Bearer ${await closed.token({ org: 'operators', user: 'root', roles: ['platform-admin'] })}` };
    const id = unique('chosen');
    const response = await post(account({ id, name: 'Chosen' }), admin);
    expect(response.status).toBe(201);
    expect(tokenResponseSchema.parse(await response.json())).toMatchObject({ organizationId: id, roles: ['admin'] });
  });
});
