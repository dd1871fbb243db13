import { CloseCodes } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Issue 7, finding 5 and the rate limits of the security list, against real servers with small
 * limits. Windows are fixed 1 s (HTTP, publishing) or 60 s (auth) windows: a burst may straddle
 * two windows, so each test sends more than twice the limit and asserts that refusals happen,
 * typed, never an exact count.
 */
let http: TestServer;
let publishing: TestServer;
beforeAll(async () => {
  [http, publishing] = await Promise.all([
    startTestServer({ HTTP_RATE_LIMIT_PER_CREDENTIAL: 5, HTTP_RATE_LIMIT_PER_ORGANIZATION: 8, AUTH_RATE_LIMIT_PER_IP: 15, AUTH_RATE_LIMIT_PER_ACCOUNT: 3 }),
    startTestServer({
      CHANNEL_PUBLISH_RATE_LIMIT: 5,
      QUOTA_PUBLISHES_PER_SECOND: 10,
      QUOTA_PUBLISH_BYTES_PER_SECOND: 70_000,
      RATE_LIMIT_REQUESTS_PER_SECOND: 10,
      RATE_LIMIT_BURST: 10,
      RATE_LIMIT_DISCONNECT_AFTER: 20,
    }),
  ]);
});
afterAll(() => Promise.all([http.stop(), publishing.stop()]));

type ErrorBody = { error: { code: string; retryable: boolean; details?: { retryAfterMs?: number; limit?: string } } };

async function burst(count: number, request: () => Promise<Response>) {
  const responses = await Promise.all(Array.from({ length: count }, request));
  return Promise.all(responses.map(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as ErrorBody })));
}

describe('HTTP API', () => {
  const profile = (token: string) => () => fetch(`${http.url}/api/v1/auth/profile`, { headers: { authorization: `Bearer ${token}` } });

  it('limits each credential: 429 APIX_ERR_RATE_LIMITED with Retry-After; other credentials are unaffected', async () => {
    const flooder = await http.token({ org: 'org-cred', user: 'flooder' });
    const answers = await burst(15, profile(flooder));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]).toMatchObject({ body: { error: { code: 'APIX_ERR_RATE_LIMITED', retryable: true, details: { limit: 'http.credential' } } } });
    expect(Number(limited[0]!.retryAfter)).toBeGreaterThanOrEqual(1);
    const bystander = await http.token({ org: 'org-other', user: 'calm' });
    expect((await profile(bystander)()).status).toBe(200);
  });

  it('limits each organisation, all its credentials together', async () => {
    const tokens = await Promise.all(['a', 'b', 'c', 'd'].map((user) => http.token({ org: 'org-wide', user })));
    // 4 credentials × 5 = 20 requests, each credential within its own limit per window; the organisation allows 8.
    const answers = (await Promise.all(tokens.map((t) => burst(5, profile(t))))).flat();
    expect(answers.filter((a) => a.status === 429).map((a) => a.body.error.details?.limit)).toContain('http.organization');
  });
});

describe('login and register', () => {
  const login = (email: string, password = 'wrong password here') => () =>
    fetch(`${http.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });

  it('limit each account alike, known or unknown: the same answers in the same order (no enumeration)', async () => {
    const known = `known-${Date.now()}@example.com`;
    const registered = await fetch(`${http.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: known, password: 'correct horse battery', organization: { name: 'Known' } }),
    });
    expect(registered.status).toBe(201);
    const sequence = async (email: string) => {
      const codes: string[] = [];
      for (let i = 0; i < 5; i++) codes.push(((await (await login(email)()).json()) as ErrorBody).error.code);
      return codes;
    };
    const knownCodes = await sequence(known);
    const unknownCodes = await sequence(`ghost-${Date.now()}@example.com`);
    // `known` spent one attempt on register (same window): the unknown email's sequence is shifted by one.
    expect(knownCodes).toEqual(['APIX_ERR_AUTH_FAILED', 'APIX_ERR_AUTH_FAILED', 'APIX_ERR_RATE_LIMITED', 'APIX_ERR_RATE_LIMITED', 'APIX_ERR_RATE_LIMITED']);
    expect(unknownCodes).toEqual(['APIX_ERR_AUTH_FAILED', 'APIX_ERR_AUTH_FAILED', 'APIX_ERR_AUTH_FAILED', 'APIX_ERR_RATE_LIMITED', 'APIX_ERR_RATE_LIMITED']);
    // Even the right password is refused while the account is limited.
    const right = await login(known, 'correct horse battery')();
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('limit each client address across accounts', async () => {
    const answers = await burst(20, () => login(`spray-${Math.random()}@example.com`)());
    expect(answers.filter((a) => a.status === 429).map((a) => a.body.error.details?.limit)).toContain('auth.ip');
  });
});

describe('publishing', () => {
  const publishAll = async (client: RawClient, entries: Array<{ channel: string; payload?: unknown }>) =>
    Promise.all(entries.map((e) => client.request({ type: 'publish', channel: e.channel, event: { type: 'note', payload: e.payload ?? null } })));
  const limitsOf = (replies: Array<Record<string, unknown>>) => replies.filter((r) => r.ok === false).map((r) => (r.error as ErrorBody['error']).details?.limit ?? (r.error as ErrorBody['error']).code);

  it('limits publishes per channel', async () => {
    const client = await RawClient.connect(publishing.wsUrl, await publishing.token({ org: 'pub-channel' }));
    const replies = await publishAll(client, Array.from({ length: 12 }, () => ({ channel: 'agent:hot' })));
    expect(limitsOf(replies)).toContain('channel.publishesPerSecond');
    await client.close();
  });

  it('limits publishes per organisation, over all its channels; another organisation is unaffected', async () => {
    // Three connections, each within its own request budget (burst 10); 24 publishes over 6 channels (4 each, channel limit 5).
    const clients = await Promise.all([1, 2, 3].map(async (n) => RawClient.connect(publishing.wsUrl, await publishing.token({ org: 'pub-org', user: `u${n}` }))));
    const replies = (await Promise.all(clients.map((c, n) => publishAll(c, Array.from({ length: 8 }, (_, i) => ({ channel: `agent:c${(n * 8 + i) % 6}` })))))).flat();
    expect(limitsOf(replies)).toContain('organization.publishesPerSecond');
    expect(limitsOf(replies)).not.toContain('APIX_ERR_RATE_LIMITED');
    const other = await RawClient.connect(publishing.wsUrl, await publishing.token({ org: 'pub-bystander' }));
    expect((await publishAll(other, [{ channel: 'agent:c0' }]))[0]).toMatchObject({ ok: true });
    await Promise.all([...clients, other].map((c) => c.close()));
  });

  it('limits published bytes per organisation', async () => {
    const client = await RawClient.connect(publishing.wsUrl, await publishing.token({ org: 'pub-bytes' }));
    const payload = 'x'.repeat(30_000);
    const replies = await publishAll(client, Array.from({ length: 6 }, (_, i) => ({ channel: `agent:b${i}`, payload })));
    expect(limitsOf(replies)).toContain('organization.publishBytesPerSecond');
    await client.close();
  });

  it('over HTTP too, with Retry-After', async () => {
    const token = await publishing.token({ org: 'pub-http', roles: ['admin'] });
    const answers = await burst(12, () =>
      fetch(`${publishing.url}/api/v1/channels/agent%3Ahttp/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ type: 'note' }),
      }),
    );
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.retryAfter).toMatch(/^\d+$/);
  });
});

describe('flooders', () => {
  it('are closed with 4005 when they keep exceeding their limit', async () => {
    const client = await RawClient.connect(publishing.wsUrl, await publishing.token({ org: 'flood' }));
    for (let i = 0; i < 200; i++) client.send({ type: 'heartbeat.ping', id: `p${i}` });
    for (let i = 0; i < 200; i++) client.send({ type: 'history', id: `h${i}`, channel: 'agent:x' });
    expect((await client.closed).code).toBe(CloseCodes.RATE_LIMITED);
  });

  it('are not closed for overshooting once', async () => {
    const client = await RawClient.connect(publishing.wsUrl, await publishing.token({ org: 'overshoot' }));
    const replies = await Promise.all(Array.from({ length: 25 }, (_, i) => client.request({ type: 'history', id: `o${i}`, channel: 'agent:x' })));
    expect(replies.filter((r) => r.ok === false).length).toBeGreaterThan(0);
    expect(await client.request({ type: 'heartbeat.ping' })).toMatchObject({ type: 'heartbeat.pong' });
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    await client.close();
  });
});
