import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * APIX trusting an application's own login: a local HTTP server plays the application's
 * identity provider and serves its JWKS; APIX is started with JWKS_URL / JWKS_ISSUER and
 * must accept that issuer's tokens, refuse bad ones, and fetch the key set sparingly.
 */

const ISSUER = 'https://login.example.test';
const AUDIENCE = 'realtime';
const COOLDOWN_MS = 1_500;

interface IssuerKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function newKey(kid = `k-${randomBytes(4).toString('hex')}`): Promise<IssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** The application's identity provider: serves `published` at /.well-known/jwks.json and counts the fetches. */
class FakeIdentityProvider {
  published: IssuerKey[] = [];
  fetches = 0;
  lastFetchAt = 0;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<FakeIdentityProvider> {
    const server = createServer();
    const provider = new FakeIdentityProvider(server);
    server.on('request', (request, response) => {
      if (request.url !== '/.well-known/jwks.json') {
        response.writeHead(404).end();
        return;
      }
      provider.fetches++;
      provider.lastFetchAt = Date.now();
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: provider.published.map((k) => k.publicJwk) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return provider;
  }

  get jwksUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);
const claims = (overrides: Record<string, unknown> = {}) => ({
  sub: 'ext-alice',
  org: 'ext-co',
  roles: ['member'],
  iss: ISSUER,
  aud: AUDIENCE,
  iat: nowSeconds(),
  exp: nowSeconds() + 600,
  ...overrides,
});

function sign(key: IssuerKey, overrides: Record<string, unknown> = {}, kid = key.kid): Promise<string> {
  return new SignJWT(claims(overrides)).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key.privateKey);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * APIX starts its cool-down when it has *processed* a fetched key set, which on a busy
 * machine may be well after the provider answered. Every verifying request below records
 * when it finished (`verifiedAt`): a fetch it caused was processed by then, so waiting a
 * cool-down from the last one is always long enough.
 */
let verifiedAt = 0;
async function verifying<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } finally {
    verifiedAt = Date.now();
  }
}
const untilCooledDown = () => sleep(Math.max(0, verifiedAt + COOLDOWN_MS + 50 - Date.now()));

/** The rate limit: one fetch, plus one more per full cool-down the measured span covered. */
const allowedFetches = (spanMs: number) => 1 + Math.floor(spanMs / COOLDOWN_MS);

let provider: FakeIdentityProvider;
let server: TestServer;
let keyA: IssuerKey;

beforeAll(async () => {
  provider = await FakeIdentityProvider.start();
  keyA = await newKey();
  provider.published = [keyA];
  server = await startTestServer({ JWKS_URL: provider.jwksUrl, JWKS_ISSUER: ISSUER, JWKS_AUDIENCE: AUDIENCE, JWKS_COOLDOWN_MS: COOLDOWN_MS });
});
afterAll(async () => {
  await server.stop();
  await provider.close();
});

const validate = (token: string) => verifying(fetch(`${server.url}/api/v1/auth/validate`, { headers: { authorization: `Bearer ${token}` } }));
const publishOverHttp = (token: string, channel: string, payload: unknown) =>
  verifying(
    fetch(`${server.url}/api/v1/channels/${channel}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ type: 'note', payload }),
    }),
  );
const connect = (token: string) => verifying(RawClient.connect(server.wsUrl, token));

async function expectRefused(token: string, code: string, name: string): Promise<void> {
  const client = await RawClient.open(server.wsUrl);
  expect(await verifying(client.request({ type: 'connect', token })), name).toMatchObject({ ok: false, error: { code } });
  await client.closed;
  const response = await publishOverHttp(token, 'agent:feed', name);
  expect({ status: response.status, body: await response.json() }, name).toMatchObject({ status: 401, body: { error: { code } } });
}

// The tests run in order and share the provider's fetch count and cool-down clock.
describe('an external issuer', () => {
  it("its tokens open a WebSocket and publish over HTTP; the key set is fetched once", async () => {
    expect(provider.fetches).toBe(0); // fetched lazily, on the first external token
    const token = await sign(keyA);
    const client = await connect(token);
    expect(await client.request({ type: 'subscribe', channels: ['agent:feed'] })).toMatchObject({ ok: true });

    const published = await publishOverHttp(token, 'agent:feed', 'from the app backend');
    expect(published.status).toBe(201);
    const [event] = await client.waitForEvents('agent:feed', 1);
    expect(event).toMatchObject({ event: { type: 'note', payload: 'from the app backend' } });

    expect(await (await validate(token)).json()).toMatchObject({ valid: true, userId: 'ext-alice', organizationId: 'ext-co', roles: ['member'] });
    expect(provider.fetches).toBe(1);
    await client.close();
  });

  it('refuses a wrong audience, an expired token, alg none, and a forged signature', async () => {
    const forger = await newKey(keyA.kid); // claims keyA's kid, signs with another key
    const cases: Array<[string, string, string]> = [
      ['wrong audience', await sign(keyA, { aud: 'billing' }), 'APIX_ERR_AUTH_FAILED'],
      ['no audience', await sign(keyA, { aud: undefined }), 'APIX_ERR_AUTH_FAILED'],
      ['expired', await sign(keyA, { iat: nowSeconds() - 1200, exp: nowSeconds() - 600 }), 'APIX_ERR_TOKEN_EXPIRED'],
      ['no exp', await sign(keyA, { exp: undefined }), 'APIX_ERR_AUTH_FAILED'],
      ['alg none', `${b64({ alg: 'none', kid: keyA.kid, typ: 'JWT' })}.${b64(claims())}.`, 'APIX_ERR_AUTH_FAILED'],
      ['forged signature', await sign(forger), 'APIX_ERR_AUTH_FAILED'],
      ['no org claim', await sign(keyA, { org: undefined }), 'APIX_ERR_AUTH_FAILED'],
    ];
    for (const [name, token, code] of cases) await expectRefused(token, code, name);
  });

  it('an unknown kid causes at most one JWKS fetch per cool-down', async () => {
    const stranger = await newKey();
    const unknownKidTokens = (count: number) => Promise.all(Array.from({ length: count }, (_, i) => sign(stranger, {}, `unknown-${i}-${randomBytes(3).toString('hex')}`)));

    await untilCooledDown();
    let before = provider.fetches;
    const started = Date.now();
    const burst = await Promise.all((await unknownKidTokens(20)).map(validate));
    const span = Date.now() - started;
    expect(burst.map((r) => r.status)).toEqual(Array(20).fill(401));
    expect(provider.fetches - before).toBeGreaterThanOrEqual(1); // the cool-down had passed: one refetch is allowed…
    expect(provider.fetches - before).toBeLessThanOrEqual(allowedFetches(span)); // …and only one

    // Another burst right away: still cooling down, no fetch at all.
    before = provider.fetches;
    await Promise.all((await unknownKidTokens(20)).map(validate));
    if (Date.now() - provider.lastFetchAt < COOLDOWN_MS) expect(provider.fetches).toBe(before);

    // After the cool-down, one more is allowed.
    await untilCooledDown();
    before = provider.fetches;
    expect((await validate((await unknownKidTokens(1))[0]!)).status).toBe(401);
    expect(provider.fetches - before).toBe(1);

    // Known keys never needed a fetch: the first token still works without one.
    before = provider.fetches;
    expect((await validate(await sign(keyA))).status).toBe(200);
    expect(provider.fetches).toBe(before);
  });

  it('picks up keys rotated at the issuer once the cool-down has passed', async () => {
    const keyB = await newKey();
    provider.published = [keyB]; // rotation: keyA retired, keyB published
    const tokenB = await sign(keyB);

    const early = await validate(tokenB);
    // Within the cool-down of the last fetch, the new kid cannot be looked up yet.
    if (Date.now() - provider.lastFetchAt < COOLDOWN_MS) expect(early.status).toBe(401);

    await untilCooledDown();
    const before = provider.fetches;
    const client = await connect(tokenB);
    expect(provider.fetches - before).toBe(1);
    expect(await client.request({ type: 'publish', channel: 'agent:feed', event: { type: 'note', payload: 'rotated' } })).toMatchObject({ ok: true });
    await client.close();

    // The retired key is gone from the refreshed set.
    await expectRefused(await sign(keyA), 'APIX_ERR_AUTH_FAILED', 'retired key');
  });

  it('is trusted for its own organisations, never for the installation: platform-admin is stripped', async () => {
    const key = provider.published[0]!;
    const token = await sign(key, { roles: ['platform-admin', 'admin'] });
    expect(await (await validate(token)).json()).toMatchObject({ roles: ['admin'] });
    const created = await verifying(
      fetch(`${server.url}/api/v1/admin/organizations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ id: 'hijack', name: 'Not yours' }),
      }),
    );
    expect(created.status).toBe(403);
    expect(await server.repositories.organizations.findById('hijack')).toBeUndefined();
  });

  it('closes self-service registration by default, so organisation ids it uses cannot be claimed', async () => {
    const response = await fetch(`${server.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'taker@example.com', password: 'long enough password', organization: { id: 'ext-co', name: 'Takeover' } }),
    });
    expect({ status: response.status, body: await response.json() }).toMatchObject({ status: 403, body: { error: { code: 'APIX_ERR_FORBIDDEN' } } });
    expect(await server.repositories.organizations.findById('ext-co')).toBeUndefined();
  });
});
