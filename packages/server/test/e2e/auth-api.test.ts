import { profileResponseSchema, tokenResponseSchema, tokenValidationResponseSchema, type TokenResponse } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/identity/api-key-secret.js';
import { hashPassword, verifyPassword } from '../../src/identity/password-hasher.js';
import { generateRefreshToken, hashRefreshToken } from '../../src/identity/refresh-token-secret.js';
import { authOpenApiPaths } from '../../src/http/openapi-auth-paths.js';
import { eq } from 'drizzle-orm';
import { organizations } from '../../src/storage/schema.js';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
beforeAll(async () => {
  // This suite makes more auth calls from one address than the per-IP limit allows in a
  // minute; the limits themselves are tested in hardening-rate-limits.test.ts.
  server = await startTestServer({ AUTH_RATE_LIMIT_PER_IP: 0 });
});
afterAll(() => server.stop());

// ---------- helpers ----------

interface Account {
  email: string;
  password: string;
  name: string;
  /** Self-registration never names the id: the server generates it (docs/auth.md). */
  organization: { name: string };
}

/** An account after registering: with the organisation id the server generated. */
type RegisteredAccount = Account & { organization: { id: string; name: string } };

let sequence = 0;
function newAccount(): Account {
  const id = `t${++sequence}-${Math.random().toString(36).slice(2, 8)}`;
  return { email: `${id}@example.com`, password: 'correct horse battery', name: `User ${id}`, organization: { name: `Org ${id}` } };
}

const authUrl = (path: string) => `${server.url}/api/v1/auth/${path}`;

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(authUrl(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const get = (path: string, token?: string) => fetch(authUrl(path), { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

async function expectError(response: Response, status: number, code: string): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  const body = (await response.json()) as { error: { code: string; message: string; details?: Record<string, unknown> } };
  expect({ status: response.status, body }, code).toMatchObject({ status, body: { error: { code } } });
  return body.error;
}

async function register(account: Account = newAccount()): Promise<TokenResponse & { account: RegisteredAccount }> {
  const response = await post('register', account);
  expect(response.status, JSON.stringify(await response.clone().json())).toBe(201);
  const tokens = tokenResponseSchema.parse(await response.json());
  return { ...tokens, account: { ...account, organization: { ...account.organization, id: tokens.organizationId } } };
}

async function organizationsNamed(name: string) {
  return server.database.db.select().from(organizations).where(eq(organizations.name, name));
}

async function login(body: Record<string, unknown>): Promise<TokenResponse> {
  const response = await post('login', body);
  expect(response.status, JSON.stringify(await response.clone().json())).toBe(200);
  return tokenResponseSchema.parse(await response.json());
}

const refresh = (refreshToken: string) => post('refresh', { refreshToken });

async function auditRows(organizationId: string | null, action: string) {
  await server.controlPlane.audit.flush();
  const page = organizationId === null ? await server.repositories.audit.queryUnattributed({ action }) : await server.repositories.audit.query(organizationId, { action });
  return page.rows;
}

async function elapsedMs(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/**
 * The fastest run of each piece of work, over `rounds` rounds that run every piece once in
 * turn. Noise on a busy machine only ever adds time, so the minimum is the honest cost; and
 * interleaving exposes every piece to the same load, so their ratios stay meaningful.
 */
async function fastestOfInterleaved(rounds: number, works: Array<() => Promise<unknown>>): Promise<number[]> {
  const fastest = works.map(() => Number.POSITIVE_INFINITY);
  for (let round = 0; round < rounds; round++) {
    for (const [i, work] of works.entries()) fastest[i] = Math.min(fastest[i]!, await elapsedMs(work));
  }
  return fastest;
}

// ---------- register ----------

describe('register', () => {
  it('creates the organisation, the user as its admin, and logs them in', async () => {
    const account = newAccount();
    const response = await post('register', account);
    expect(response.status).toBe(201);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const tokens = tokenResponseSchema.parse(await response.json());
    expect(tokens).toMatchObject({ tokenType: 'Bearer', roles: ['admin'], expiresIn: 900 });
    // The server chose the id: unpredictable, so nobody can claim an id someone else uses.
    expect(tokens.organizationId).toMatch(/^org_[A-Za-z0-9_-]{22}$/);
    const organizationId = tokens.organizationId;

    const organization = await server.repositories.organizations.findById(organizationId);
    expect(organization).toMatchObject({ name: account.organization.name });
    const user = await server.repositories.users.findByEmail(account.email);
    expect(user).toMatchObject({ id: tokens.userId, displayName: account.name });
    expect(user!.passwordHash).toMatch(/^scrypt\$/);
    expect(await server.repositories.memberships.find(organizationId, tokens.userId)).toMatchObject({ roles: ['admin'] });

    // The access token is the gateway's: it opens a WebSocket and publishes.
    const client = await RawClient.connect(server.wsUrl, tokens.accessToken);
    expect(await client.request({ type: 'publish', channel: 'agent:welcome', event: { type: 'note', payload: 'hi' } })).toMatchObject({ ok: true });
    await client.close();

    expect((await auditRows(organizationId, 'auth.register'))[0]).toMatchObject({ actorId: tokens.userId, outcome: 'success', details: { method: 'password' } });
  });

  it('issues random refresh tokens and stores only their hash', async () => {
    const { refreshToken } = await register();
    expect(refreshToken).toMatch(/^apixrt_[A-Za-z0-9_-]{43}$/); // 32 random bytes
    expect(await server.repositories.refreshTokens.findByHash(hashRefreshToken(refreshToken))).toBeDefined();
    expect(await server.repositories.refreshTokens.findByHash(refreshToken)).toBeUndefined();
    expect((await register()).refreshToken).not.toBe(refreshToken);
  });

  it('a taken email → 409 CONFLICT, and nothing half-written', async () => {
    const first = await register();

    // Same email (other case), new organisation: the organisation row was inserted before
    // the user insert failed, and must have been rolled back with it.
    const sameEmail = { ...newAccount(), email: first.account.email.toUpperCase() };
    await expectError(await post('register', sameEmail), 409, 'APIX_ERR_CONFLICT');
    expect(await organizationsNamed(sameEmail.organization.name)).toEqual([]);

    // The organisation's name is free to reuse: names are labels, ids are the identity.
    await register({ ...newAccount(), organization: sameEmail.organization });
  });

  it('two concurrent registrations of one email: exactly one wins', async () => {
    const email = newAccount().email;
    const responses = await Promise.all([post('register', { ...newAccount(), email }), post('register', { ...newAccount(), email })]);
    expect(responses.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  it('a platform admin may name the id, but not one already in use by tokens of another issuer', async () => {
    const admin = { authorization: `Bearer ${await server.token({ org: 'operators', user: 'root', roles: ['platform-admin'] })}` };
    const organizationId = `busy-${Math.random().toString(36).slice(2, 8)}`;
    const client = await RawClient.connect(server.wsUrl, await server.token({ org: organizationId, user: 'ext-user' }));
    const deadline = Date.now() + 5_000;
    while ((await server.repositories.connections.list(organizationId, { limit: 1 })).length === 0) {
      if (Date.now() > deadline) throw new Error('connection row never written');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await expectError(await post('register', { ...newAccount(), organization: { id: organizationId, name: 'Takeover' } }, admin), 409, 'APIX_ERR_CONFLICT');
    expect(await server.repositories.organizations.findById(organizationId)).toBeUndefined();
    // The existing users keep their access.
    expect(await client.request({ type: 'publish', channel: 'agent:still-mine', event: { type: 'note' } })).toMatchObject({ ok: true });
    await client.close();

    const fresh = `fresh-${Math.random().toString(36).slice(2, 8)}`;
    const response = await post('register', { ...newAccount(), organization: { id: fresh, name: 'Chosen' } }, admin);
    expect(response.status).toBe(201);
    expect(tokenResponseSchema.parse(await response.json()).organizationId).toBe(fresh);
  });
});

// ---------- login ----------

describe('login', () => {
  it('logs in with email and password; the email is case-insensitive', async () => {
    const { account, userId } = await register();
    const tokens = await login({ email: account.email.toUpperCase(), password: account.password });
    expect(tokens).toMatchObject({ userId, organizationId: account.organization.id, roles: ['admin'] });
    const rows = await auditRows(account.organization.id, 'auth.login');
    expect(rows.filter((r) => r.details.method === 'password')).toHaveLength(1);
  });

  it('an unknown email and a wrong password get the same answer, and both are audited', async () => {
    const { account, userId } = await register();
    const unknown = await expectError(await post('login', { email: `nobody-${account.email}`, password: account.password }), 401, 'APIX_ERR_AUTH_FAILED');
    const wrong = await expectError(await post('login', { email: account.email, password: 'not the password' }), 401, 'APIX_ERR_AUTH_FAILED');
    expect(unknown).toEqual(wrong);

    const anonymous = await auditRows(null, 'auth.failure');
    expect(anonymous.find((r) => r.details.email === `nobody-${account.email}`)).toMatchObject({ actorType: 'anonymous', outcome: 'failure', details: { reason: 'unknown_email' } });
    expect((await auditRows(account.organization.id, 'auth.failure'))[0]).toMatchObject({ actorType: 'user', actorId: userId, details: { reason: 'wrong_password' } });
  });

  it('an unknown email costs the same password-hashing work as a wrong password', async () => {
    const { account } = await register();
    const stored = await hashPassword('some password');
    const [kdfMs, unknownMs, wrongMs] = await fastestOfInterleaved(3, [
      () => verifyPassword('another password', stored),
      () => post('login', { email: `ghost-${account.email}`, password: 'wrong password' }).then((r) => r.arrayBuffer()),
      () => post('login', { email: account.email, password: 'wrong password' }).then((r) => r.arrayBuffer()),
    ]);
    // Both paths run the KDF: a skipped KDF answers in a few ms, about 2% of kdfMs here, so
    // these bounds leave room for a 4x load swing and still catch it…
    expect(unknownMs).toBeGreaterThanOrEqual(kdfMs! * 0.25);
    expect(wrongMs).toBeGreaterThanOrEqual(kdfMs! * 0.25);
    // …and neither does noticeably more than the other.
    expect(unknownMs! / wrongMs!).toBeGreaterThan(1 / 4);
    expect(unknownMs! / wrongMs!).toBeLessThan(4);
  });

  it('a user of several organisations must name one, and gets that organisation’s roles', async () => {
    const { account, userId } = await register();
    const second = `${account.organization.id}-two`;
    await server.repositories.organizations.create({ id: second, name: 'Second' });
    await server.repositories.memberships.put(second, userId, ['member']);

    const choose = await expectError(await post('login', { email: account.email, password: account.password }), 400, 'APIX_ERR_INVALID_REQUEST');
    expect(choose.details).toMatchObject({ organizations: expect.arrayContaining([{ id: account.organization.id, name: account.organization.name }, { id: second, name: 'Second' }]) });

    expect(await login({ email: account.email, password: account.password, organizationId: second })).toMatchObject({ organizationId: second, roles: ['member'] });
    expect(await login({ email: account.email, password: account.password, organizationId: account.organization.id })).toMatchObject({ roles: ['admin'] });
    await expectError(await post('login', { email: account.email, password: account.password, organizationId: 'someone-else' }), 403, 'APIX_ERR_FORBIDDEN');
    await expectError(await post('login', { email: account.email, password: 'not the password', organizationId: second }), 401, 'APIX_ERR_AUTH_FAILED');
  });

  it('a disabled user can neither log in nor refresh, and their access token stops working', async () => {
    const { account, userId, refreshToken, accessToken } = await register();
    await server.repositories.users.disable(userId, new Date());
    await server.controlPlane.accessChanged({ kind: 'user', userId });

    await expectError(await post('login', { email: account.email, password: account.password }), 403, 'APIX_ERR_FORBIDDEN');
    await expectError(await post('login', { email: account.email, password: 'not the password' }), 401, 'APIX_ERR_AUTH_FAILED');
    await expectError(await refresh(refreshToken), 401, 'APIX_ERR_AUTH_FAILED');
    await expectError(await get('profile', accessToken), 401, 'APIX_ERR_AUTH_FAILED');
    await expectError(await get('validate', accessToken), 401, 'APIX_ERR_AUTH_FAILED');
  });
});

// ---------- refresh ----------

describe('refresh', () => {
  it('rotates: new access and refresh tokens; the old refresh token is spent', async () => {
    const first = await register();
    const response = await refresh(first.refreshToken);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const second = tokenResponseSchema.parse(await response.json());
    expect(second).toMatchObject({ userId: first.userId, organizationId: first.organizationId, roles: ['admin'] });
    expect(second.refreshToken).not.toBe(first.refreshToken);
    const third = tokenResponseSchema.parse(await (await refresh(second.refreshToken)).json());
    expect((await get('validate', third.accessToken)).status).toBe(200);
    expect((await auditRows(first.organizationId, 'auth.refresh')).length).toBe(2);
  });

  it('reusing a spent refresh token revokes the whole family, the rotated-to token included', async () => {
    const first = await register();
    const second = tokenResponseSchema.parse(await (await refresh(first.refreshToken)).json());

    await expectError(await refresh(first.refreshToken), 401, 'APIX_ERR_AUTH_FAILED');
    await expectError(await refresh(second.refreshToken), 401, 'APIX_ERR_AUTH_FAILED');
    expect((await auditRows(first.organizationId, 'auth.refresh_reuse'))[0]).toMatchObject({ actorId: first.userId, outcome: 'denied' });

    // Another login of the same user is a different family and keeps working.
    const other = await login({ email: first.account.email, password: first.account.password });
    expect((await refresh(other.refreshToken)).status).toBe(200);
  });

  it('two concurrent uses of one refresh token: one rotates, the other counts as reuse', async () => {
    const { refreshToken } = await register();
    const responses = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
    expect(responses.map((r) => r.status).sort()).toEqual([200, 401]);
    const winner = tokenResponseSchema.parse(await responses.find((r) => r.status === 200)!.json());
    await expectError(await refresh(winner.refreshToken), 401, 'APIX_ERR_AUTH_FAILED');
  });

  it('an unknown refresh token → 401 AUTH_FAILED; an expired one → 401 TOKEN_EXPIRED', async () => {
    await expectError(await refresh(generateRefreshToken().token), 401, 'APIX_ERR_AUTH_FAILED');
    await expectError(await refresh('not even a token'), 401, 'APIX_ERR_AUTH_FAILED');

    const { userId, organizationId } = await register();
    const expired = generateRefreshToken();
    await server.repositories.refreshTokens.issue({ tokenHash: expired.tokenHash, userId, organizationId, expiresAt: new Date(Date.now() - 1000) });
    await expectError(await refresh(expired.token), 401, 'APIX_ERR_TOKEN_EXPIRED');
  });

  it('carries the current roles (never platform-admin), and refuses a member who was removed', async () => {
    const { refreshToken, userId, organizationId } = await register();
    await server.repositories.memberships.setRoles(organizationId, userId, ['admin', 'ops']);
    const next = tokenResponseSchema.parse(await (await refresh(refreshToken)).json());
    expect(next.roles).toEqual(['admin', 'ops']);

    // platform-admin is never minted by the auth API, even if a membership row holds it.
    await server.repositories.memberships.setRoles(organizationId, userId, ['admin', 'platform-admin']);
    const guarded = tokenResponseSchema.parse(await (await refresh(next.refreshToken)).json());
    expect(guarded.roles).toEqual(['admin']);
    expect(JSON.parse(Buffer.from(guarded.accessToken.split('.')[1]!, 'base64url').toString())).toMatchObject({ roles: ['admin'] });

    await server.repositories.memberships.remove(organizationId, userId);
    await expectError(await refresh(guarded.refreshToken), 401, 'APIX_ERR_AUTH_FAILED');
    // Refused for good: the family is revoked, re-adding the member does not revive it.
    await server.repositories.memberships.put(organizationId, userId, ['admin']);
    await expectError(await refresh(guarded.refreshToken), 401, 'APIX_ERR_AUTH_FAILED');
  });
});

// ---------- logout ----------

describe('logout', () => {
  it('revokes the login’s refresh tokens (204), is idempotent, and leaves other logins alone', async () => {
    const first = await register();
    const rotated = tokenResponseSchema.parse(await (await refresh(first.refreshToken)).json());
    const other = await login({ email: first.account.email, password: first.account.password });

    const response = await post('logout', { refreshToken: rotated.refreshToken });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    await expectError(await refresh(rotated.refreshToken), 401, 'APIX_ERR_AUTH_FAILED');
    expect((await post('logout', { refreshToken: rotated.refreshToken })).status).toBe(204);
    expect((await post('logout', { refreshToken: generateRefreshToken().token })).status).toBe(204);
    expect((await refresh(other.refreshToken)).status).toBe(200);
    expect(await auditRows(first.organizationId, 'auth.logout')).toHaveLength(1);
  });
});

// ---------- profile and validate ----------

describe('profile and validate', () => {
  it('describe a registered user with current roles', async () => {
    const { accessToken, userId, organizationId, account } = await register();
    const response = await get('profile', accessToken);
    expect(response.status).toBe(200);
    const profile = profileResponseSchema.parse(await response.json());
    expect(profile).toMatchObject({ kind: 'user', userId, organizationId, roles: ['admin'], scopes: [], email: account.email, name: account.name });
    expect(profile.expiresAt).toBeGreaterThan(Date.now() + 800_000);

    const validation = tokenValidationResponseSchema.parse(await (await get('validate', accessToken)).json());
    expect(validation).toEqual({ valid: true, kind: 'user', userId, organizationId, roles: ['admin'], scopes: [], expiresAt: profile.expiresAt });

    // Roles are the current ones, not the token's claim.
    await server.repositories.memberships.setRoles(organizationId, userId, ['viewer']);
    await server.controlPlane.accessChanged({ kind: 'membership', organizationId, userId });
    expect(await (await get('profile', accessToken)).json()).toMatchObject({ roles: ['viewer'] });
    await server.repositories.memberships.remove(organizationId, userId);
    await server.controlPlane.accessChanged({ kind: 'membership', organizationId, userId });
    await expectError(await get('profile', accessToken), 401, 'APIX_ERR_AUTH_FAILED');
  });

  it('describe an API key and a token of an organisation APIX does not manage', async () => {
    const { organizationId } = await register();
    const key = generateApiKey();
    const created = await server.repositories.apiKeys.create({ organizationId, name: 'ci', keyPrefix: key.keyId, keyHash: key.secretHash, scopes: ['publish'] });
    const profile = await (await get('profile', key.plainKey)).json();
    expect(profileResponseSchema.parse(profile)).toEqual({ kind: 'api_key', userId: `key_${created.id}`, organizationId, roles: [], scopes: ['publish'] });
    expect(await (await get('validate', key.plainKey)).json()).toMatchObject({ valid: true, kind: 'api_key', expiresAt: null });

    const external = await server.token({ org: 'unmanaged-co', user: 'bob', roles: ['ops'] });
    const externalProfile = profileResponseSchema.parse(await (await get('profile', external)).json());
    expect(externalProfile).toMatchObject({ kind: 'user', userId: 'bob', organizationId: 'unmanaged-co', roles: ['ops'] });
    expect(externalProfile.email).toBeUndefined();
  });
});

// ---------- bad input ----------

describe('bad input', () => {
  it('schema violations → 400 INVALID_REQUEST naming the fields', async () => {
    const good = newAccount();
    const cases: Array<[string, unknown, string]> = [
      ['register', {}, 'email'],
      ['register', { ...good, email: 'not-an-email' }, 'email'],
      ['register', { ...good, password: 'short' }, 'password'],
      ['register', { ...good, organization: { id: 'a/b', name: 'x' } }, 'organization.id'],
      ['register', { ...good, organization: undefined }, 'organization'],
      ['register', { ...good, admin: true }, ''],
      ['register', { ...good, name: '' }, 'name'],
      ['login', { email: good.email }, 'password'],
      ['login', { email: 42, password: 'x' }, 'email'],
      ['login', { email: good.email, password: 'x', organizationId: '../x' }, 'organizationId'],
      ['login', { email: good.email, password: 'x', remember: true }, ''],
      ['refresh', {}, 'refreshToken'],
      ['refresh', { refreshToken: '' }, 'refreshToken'],
      ['refresh', { refreshToken: 'x'.repeat(501) }, 'refreshToken'],
      ['refresh', { refreshToken: 42 }, 'refreshToken'],
      ['logout', {}, 'refreshToken'],
      ['logout', { refreshToken: 'x', everywhere: true }, ''],
      ['login', [], ''],
      ['login', 'null', ''],
    ];
    for (const [path, body, field] of cases) {
      const error = await expectError(await post(path, body), 400, 'APIX_ERR_INVALID_REQUEST');
      const issues = (error.details?.issues ?? []) as Array<{ path: string }>;
      expect(issues.map((i) => i.path), `${path} ${JSON.stringify(body)}`).toContain(field);
    }
  });

  it('malformed JSON, a wrong content type or no body → 400 INVALID_REQUEST', async () => {
    const body = JSON.stringify({ email: 'a@example.com', password: 'whatever password' });
    for (const path of ['register', 'login', 'refresh', 'logout']) {
      await expectError(await post(path, '{"email": '), 400, 'APIX_ERR_INVALID_REQUEST');
      await expectError(await fetch(authUrl(path), { method: 'POST', headers: { 'content-type': 'text/plain' }, body }), 400, 'APIX_ERR_INVALID_REQUEST');
      await expectError(await fetch(authUrl(path), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'email=a&password=b' }), 400, 'APIX_ERR_INVALID_REQUEST');
      await expectError(await fetch(authUrl(path), { method: 'POST' }), 400, 'APIX_ERR_INVALID_REQUEST');
    }
  });

  it('profile and validate without a usable bearer credential → 401', async () => {
    const { refreshToken } = await register();
    const expired = await server.token({ ttlSeconds: -60 });
    for (const path of ['profile', 'validate']) {
      await expectError(await get(path), 401, 'APIX_ERR_NOT_AUTHENTICATED');
      await expectError(await fetch(authUrl(path), { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401, 'APIX_ERR_NOT_AUTHENTICATED');
      await expectError(await get(path, 'not-a-jwt'), 401, 'APIX_ERR_AUTH_FAILED');
      await expectError(await get(path, refreshToken), 401, 'APIX_ERR_AUTH_FAILED');
      await expectError(await get(path, expired), 401, 'APIX_ERR_TOKEN_EXPIRED');
    }
  });
});

// ---------- OpenAPI ----------

describe('OpenAPI paths', () => {
  it('describe every auth route, each of which exists', async () => {
    const routes = Object.entries(authOpenApiPaths).flatMap(([path, item]) => Object.keys(item).map((method) => [path, method] as const));
    expect(routes.map(([path, method]) => `${method} ${path}`).sort()).toEqual(
      ['post /api/v1/auth/register', 'post /api/v1/auth/login', 'post /api/v1/auth/refresh', 'post /api/v1/auth/logout', 'get /api/v1/auth/profile', 'get /api/v1/auth/validate'].sort(),
    );
    for (const [path, method] of routes) {
      const response = await fetch(`${server.url}${path}`, { method: method.toUpperCase() });
      expect(response.status, `${method} ${path}`).not.toBe(404);
    }
    const login = authOpenApiPaths['/api/v1/auth/login']!.post as { requestBody: { content: { 'application/json': { schema: { required: string[] } } } } };
    expect(login.requestBody.content['application/json'].schema.required).toEqual(['email', 'password']);
  });
});
